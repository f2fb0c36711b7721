"""The project package as a Django app, so its signal receivers are connected at start-up
(login throttling, token revocation) whatever entry point runs: web, worker or command."""

from django.apps import AppConfig


class Label360Config(AppConfig):
    name = "label360"
    verbose_name = "Label360"

    def ready(self) -> None:
        from . import loginthrottle, tokens  # noqa: F401  (loginthrottle connects on import)

        tokens.connect()
