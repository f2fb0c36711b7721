"""Celery tasks of the jobs app: one generic task runs every job kind."""

from __future__ import annotations

from celery import shared_task
from django.db import close_old_connections

from .runner import execute


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    name="inference.tasks.run_job",
)
def run_job(self, job_id: int) -> str:
    """Run job ``job_id`` (idempotent: a finished job is a no-op; a re-delivered running job
    restarts cleanly). Returns the job's final status."""
    close_old_connections()
    try:
        return execute(job_id, task_id=getattr(self.request, "id", None) or "")
    finally:
        close_old_connections()
