from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Processing jobs and models"

    def ready(self) -> None:
        """Register the built-in job kinds and connect the upload signal."""
        from . import kinds, signals  # noqa: F401
        from .admin import attach_job_actions
        from .depth import job  # noqa: F401
        from .prelabel import jobs as prelabel_jobs  # noqa: F401

        # the admin autodiscovers before this app is ready: attach the actions now
        attach_job_actions()
