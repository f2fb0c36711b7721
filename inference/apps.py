from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Processing jobs and models"

    def ready(self) -> None:
        """Register the built-in job kinds and connect the upload signal."""
        from . import derived_images, kinds, signals  # noqa: F401
        from .admin import attach_job_actions
        from .aerial import jobs as aerial_jobs  # noqa: F401
        from .cameraman import job as cameraman_job  # noqa: F401
        from .depth import job  # noqa: F401
        from .detectors import jobs as detector_jobs  # noqa: F401
        from .prelabel import jobs as prelabel_jobs  # noqa: F401
        from .reexpose import job as reexpose_job  # noqa: F401

        # the admin autodiscovers before this app is ready: attach the actions now
        attach_job_actions()
