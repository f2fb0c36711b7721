from django.apps import AppConfig


class SequencesConfig(AppConfig):
    name = "sequences"
    verbose_name = "Panorama sequences (360° video)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the frame-extraction job kind."""
        from . import jobs  # noqa: F401
