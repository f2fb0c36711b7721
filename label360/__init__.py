"""Label360 project package: Django settings, URL routing, the Celery app and the sphere geometry core."""

from .celery import app as celery_app

__all__ = ["celery_app"]
