from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "Dataset export, import and agreement"

    def ready(self) -> None:
        from . import jobs  # noqa: F401  (registers the export job kind)
