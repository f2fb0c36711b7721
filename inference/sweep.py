"""The periodic job sweep: nothing stays ``running`` without a worker or ``queued`` unsent.

Run by Celery beat (``CELERY_BEAT_SCHEDULE``), once when a worker starts, and by
``manage.py sweep_jobs``. Each pass:

1. re-queues running jobs whose worker is gone (heartbeat older than
   ``LABEL360_JOB_STALE_SECONDS``, or a dead process on this host); a job whose cancel was
   requested is cancelled instead;
2. publishes queued jobs that never reached the broker (the outbox), oldest first, stopping
   at the first failure while the broker is down;
3. publishes again queued jobs whose message was sent more than
   ``LABEL360_JOB_REPUBLISH_SECONDS`` ago when their queue is empty (the message was lost,
   e.g. a claim that failed for good, or a broker restarted without persistence).

Every step is idempotent and safe to run from several processes at once.
"""

from __future__ import annotations

import logging
import socket
import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .leases import heartbeat_age, may_take_over, stale_after
from .models import Job, JobStatus
from .outbox import job_queue, mark_queued, publish

logger = logging.getLogger(__name__)

BATCH = 500  # rows per pass and step: a long outage is worked off over several passes


@dataclass
class SweepReport:
    requeued: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    published: list[int] = field(default_factory=list)
    unpublished: list[int] = field(default_factory=list)
    republished: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return ", ".join(f"{len(v)} {k}" for k, v in self.as_dict().items())


def recover_job(job_id: int, now=None) -> str:
    """Re-queue (or cancel) one running job whose worker is gone; '' if it is alive.

    The row is locked and checked again, so a job that just sent a heartbeat is left alone.
    The new ``celery_task_id`` and empty lease make the old copy's writes fail.
    """
    now = now or timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or not may_take_over(job, now):
            return ""
        age = heartbeat_age(job, now)
        silence = "no heartbeat" if age is None else f"no heartbeat for {age:.0f} s"
        if job.cancel_requested:
            job.status = JobStatus.CANCELLED
            job.finished_at = now
            job.lease = ""
            job.message = f"cancelled (its worker stopped: {silence})"
            job.save()
            return "cancelled"
        mark_queued(job, now)
        job.celery_task_id = uuid.uuid4().hex
        job.progress = 0.0
        job.message = f"re-queued: its worker stopped ({silence})"
        job.save()
    logger.warning("job %s re-queued: its worker stopped (%s)", job_id, silence)
    return "requeued"


def _stale_candidates(now) -> list[int]:
    cutoff = now - stale_after()
    quiet = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    local = Q(worker__startswith=f"{socket.gethostname()}:")  # dead pids are checked per row
    rows = Job.objects.filter(status=JobStatus.RUNNING).filter(quiet | local)
    return list(rows.order_by("id").values_list("pk", flat=True)[:BATCH])


def queue_size(queue: str) -> int | None:
    """Messages waiting in a broker queue (None when the broker cannot be asked)."""
    from kombu.exceptions import ChannelError

    from .tasks import run_job

    try:
        with run_job.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
            with conn.channel() as channel:
                try:
                    return channel.queue_declare(queue=queue, passive=True).message_count
                except ChannelError:  # Redis has no empty queues: it does not exist = empty
                    return 0
    except Exception as exc:
        logger.warning("could not read the size of queue %s: %s", queue, exc)
        return None


def sweep(now=None) -> SweepReport:
    """One pass of the sweep (see the module docstring)."""
    now = now or timezone.now()
    report = SweepReport()
    for job_id in _stale_candidates(now):
        outcome = recover_job(job_id, now)
        if outcome == "requeued":
            report.requeued.append(job_id)
        elif outcome == "cancelled":
            report.cancelled.append(job_id)

    grace = timedelta(seconds=float(settings.LABEL360_JOB_PUBLISH_GRACE_SECONDS))
    waiting = Job.objects.filter(status=JobStatus.QUEUED, published_at__isnull=True).filter(
        Q(queued_at__lt=now - grace) | Q(queued_at__isnull=True) | Q(pk__in=report.requeued)
    )
    broker_down = False
    for job in waiting.order_by("queued_at", "id")[:BATCH]:
        if not broker_down and publish(job):
            report.published.append(job.pk)
        else:
            broker_down = True  # don't pay a connection timeout per row during an outage
            report.unpublished.append(job.pk)

    if not broker_down:
        lost_after = now - timedelta(seconds=float(settings.LABEL360_JOB_REPUBLISH_SECONDS))
        sent = Job.objects.filter(status=JobStatus.QUEUED, published_at__lt=lost_after)
        sizes: dict[str, int | None] = {}
        for job in sent.order_by("published_at", "id")[:BATCH]:
            queue = job_queue(job)
            if queue not in sizes:
                sizes[queue] = queue_size(queue)
            if sizes[queue] == 0 and publish(job):
                report.republished.append(job.pk)
    if report.requeued or report.cancelled or report.published or report.republished:
        logger.info("job sweep: %s", report)
    return report
