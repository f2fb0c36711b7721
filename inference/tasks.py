"""Celery tasks of the jobs app: one generic task runs every job kind; the sweep keeps the
queue honest (beat schedule in settings, and once when a worker starts)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import OperationalError, close_old_connections, connections

from .runner import execute
from .sweep import sweep

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    name="inference.tasks.run_job",
)
def run_job(self, job_id: int) -> str:
    """Run job ``job_id`` (idempotent: a finished job is a no-op; a delivery of a job that runs
    in a live worker is dropped; one whose worker is gone restarts). Returns the final status.

    When the database stays unusable through the runner's own retries, the task is sent again
    later rather than dropped (the job would otherwise stay queued).
    """
    close_old_connections()
    try:
        return execute(job_id, task_id=getattr(self.request, "id", None) or "")
    except OperationalError as exc:
        countdown = min(5 * 2**self.request.retries, 120)
        logger.warning("job %s: database unusable (%s); task again in %s s", job_id, exc, countdown)
        raise self.retry(exc=exc, countdown=countdown, max_retries=None) from exc
    finally:
        close_old_connections()


@shared_task(name="inference.tasks.sweep_jobs", ignore_result=True)
def sweep_jobs() -> dict:
    """Re-queue jobs whose worker is gone and publish jobs the broker never got."""
    close_old_connections()
    try:
        return sweep().as_dict()
    finally:
        close_old_connections()


@worker_ready.connect(dispatch_uid="inference.sweep_at_worker_start")
def sweep_at_worker_start(sender=None, **kwargs) -> None:
    """A worker that starts after a crash or an outage picks up what was left behind."""
    try:
        report = sweep()
        logger.info("job sweep at worker start: %s", report)
    except Exception:  # a worker must start even when the sweep cannot run (e.g. no tables)
        logger.exception("job sweep at worker start failed")
    finally:
        connections.close_all()
