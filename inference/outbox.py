"""Publishing jobs to the broker, with the Job row as the outbox.

A job row is committed first; its message is published after the commit and the row then
records ``published_at``. When the broker is unreachable the row stays unpublished (with
``publish_error``) instead of failing the request that created it, and the sweep
(:mod:`inference.sweep`) publishes it once the broker is back. Delivering a job twice is
harmless: the runner's claim is idempotent.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Job, JobStatus
from .registry import get_kind

logger = logging.getLogger(__name__)

# A request waits at most about a second for a broker that is down, then the outbox takes over.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5,
                        "interval_max": 0.5}  # fmt: skip


def queue_name(queue: str) -> str:
    """The broker queue for a logical queue ('interactive'/'batch'), with the deployment prefix.

    ``LABEL360_QUEUE_PREFIX`` (settings or environment) isolates deployments or tests that
    share one broker; workers must then consume ``<prefix>interactive,<prefix>batch``.
    """
    return f"{getattr(settings, 'LABEL360_QUEUE_PREFIX', '')}{queue}"


def job_queue(job: Job) -> str:
    try:
        return queue_name(get_kind(job.kind).queue)
    except KeyError:  # a kind that no longer exists: the runner fails it with a clear error
        return queue_name("batch")


def publish(job: Job) -> bool:
    """Send run_job(job.id) to the broker now; record the outcome on the row.

    Returns False (and keeps the row unpublished) when the broker cannot be reached.
    """
    from .tasks import run_job

    try:
        run_job.apply_async(
            args=[job.pk],
            queue=job_queue(job),
            task_id=job.celery_task_id or None,
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
        )
    except Exception as exc:  # kombu/redis/amqp/OS errors all mean "not published"
        error = f"{type(exc).__name__}: {exc}"[:300]
        Job.objects.filter(pk=job.pk, published_at__isnull=True).update(publish_error=error)
        job.publish_error = error
        logger.warning("job %s not published (%s); the sweep will publish it", job.pk, error)
        return False
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(published_at=now, publish_error="")
    job.published_at, job.publish_error = now, ""
    return True


def publish_on_commit(job: Job) -> None:
    """Publish once the current transaction commits (a worker never sees a rolled-back job)."""
    transaction.on_commit(lambda: publish(job))


def mark_queued(job: Job, now=None) -> None:
    """Set the outbox fields of a row that is (re-)entering the queue (caller saves)."""
    job.status = JobStatus.QUEUED
    job.queued_at = now or timezone.now()
    job.published_at = None
    job.publish_error = ""
    job.lease = ""
    job.worker = ""
    job.heartbeat_at = None
