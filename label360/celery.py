"""The Celery application shared by the web process and the workers.

Broker and queues come from settings (and so from the environment). Two queues keep
interactive work (thumbnails, suggestions) from waiting behind long batch jobs.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label360.settings")

app = Celery("label360")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="label360.ping")
def ping(value: str = "pong") -> str:
    """A trivial task used by /healthz-style checks and the worker end-to-end test."""
    return value
