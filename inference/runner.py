"""Running one job: claiming it under a lease, heartbeats, final states, clear failures.

``execute`` is what the Celery task calls; tests call it directly for in-process runs.

A claim gives the attempt a fresh lease (see :mod:`inference.leases`). A delivery of a job
that is running in a live worker (a broker re-delivery after the visibility timeout, or a
second publish) is dropped; a job whose worker is gone is taken over. Progress, assets and
the final state are only written while the lease holds, so a copy that lost the job stops
at its next progress call and its result is discarded.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from . import leases
from .models import FINAL_STATUSES, Job, JobStatus
from .registry import JobCancelled, JobContext, JobError, LeaseLost, ParamsError, get_kind

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: tries of a claim or final write that hits a database error (SQLite "database is locked"
#: past its busy timeout, a dropped connection); the waits double from 0.25 s up to 4 s.
DB_TRIES = 6


def _with_db_retries(what: str, job_id: int, operation: Callable[[], T]) -> T:
    """Run a short transaction, retrying operational database errors.

    Inside an outer transaction nothing can be retried (the error broke it): raise at once.
    """
    for attempt in range(DB_TRIES):
        try:
            return operation()
        except OperationalError as exc:
            if connection.in_atomic_block or attempt == DB_TRIES - 1:
                raise
            delay = min(0.25 * 2**attempt, 4.0)
            logger.warning("job %s: %s failed (%s); retrying in %.2f s", job_id, what, exc, delay)
            connection.close_if_unusable_or_obsolete()
            time.sleep(delay)
    raise AssertionError("unreachable")


def _claim_once(job_id: int, task_id: str) -> Job | None:
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            logger.warning("job %s does not exist (deleted?); message dropped", job_id)
            return None
        if job.status in FINAL_STATUSES:
            logger.info("job %s already %s; nothing to do", job_id, job.status)
            return None
        if job.cancel_requested:
            job.status = JobStatus.CANCELLED
            job.finished_at = now
            job.message = "cancelled before it started"
            job.save()
            return None
        restarted = job.status == JobStatus.RUNNING
        if restarted and not leases.may_take_over(job, now):
            age = leases.heartbeat_age(job, now)
            logger.info(
                "job %s is running in %s (heartbeat %.1f s ago); this delivery is dropped",
                job_id,
                job.worker or "another worker",
                age or 0.0,
            )
            return None
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = now
        job.heartbeat_at = now
        job.lease = uuid.uuid4().hex
        job.worker = leases.worker_identity()
        job.progress = 0.0
        job.error = ""
        job.message = "restarted after a lost worker" if restarted else "started"
        if task_id:
            job.celery_task_id = task_id
        job.save()
    if restarted:
        logger.warning("job %s: its worker was gone; restarted (attempt %s)", job_id, job.attempts)
    return job


def _finish(
    job: Job, lease: str, status: str, message: str = "", error: str = "", result=None
) -> bool:
    """Write the final state if this copy still holds the lease; False if it does not."""
    now = timezone.now()
    fields = {
        "status": status,
        "finished_at": now,
        "heartbeat_at": now,
        "message": message[:500],
        "error": error,
    }
    if status == JobStatus.SUCCEEDED:
        fields["progress"] = 1.0
    if result is not None:
        fields["result"] = result
    updated = Job.objects.filter(pk=job.pk, lease=lease, status=JobStatus.RUNNING).update(**fields)
    if updated:
        for name, value in fields.items():
            setattr(job, name, value)
    return bool(updated)


def _run(job: Job, ctx: JobContext) -> tuple[str, str, str, dict | None] | None:
    """Run the handler; (status, message, error, result), or None when the lease was lost."""
    try:
        kind = get_kind(job.kind)
        job.params = kind.clean_params(job.params)
        ctx.check_cancelled()
        result = kind.handler(job, ctx)
        ctx.check_cancelled()
    except LeaseLost:
        return None
    except JobCancelled:
        return JobStatus.CANCELLED, "cancelled", "", None
    except (JobError, ParamsError) as exc:
        text = exc.message if isinstance(exc, JobError) else f"invalid params: {exc}"
        logger.info("job %s failed: %s", job.pk, text)
        return JobStatus.FAILED, "failed", text, None
    except KeyError as exc:
        text = str(exc.args[0]) if exc.args else str(exc)
        logger.exception("job %s failed", job.pk)
        return JobStatus.FAILED, "failed", f"unexpected error: {text}", None
    except Exception as exc:  # the UI gets one line; the traceback goes to the log
        if ctx.lost.is_set():  # the handler broke because another copy took over
            return None
        logger.exception("job %s failed with an unexpected error", job.pk)
        text = f"unexpected error: {type(exc).__name__}: {str(exc)[:300]}"
        return JobStatus.FAILED, "failed", text, None
    if not isinstance(result, dict):
        result = {"value": result}
    return JobStatus.SUCCEEDED, "done", "", result


def execute(job_id: int, task_id: str = "") -> str:
    """Run the job to a final state and return that state ('' if this copy wrote none)."""
    job = _with_db_retries("claim", job_id, lambda: _claim_once(job_id, task_id))
    if job is None:
        return ""
    lease = job.lease
    ctx = JobContext(job, lease=lease)
    beat = leases.start_heartbeat(job.pk, lease, ctx.lost)
    leases.RUNNING_HERE.add(job.pk)
    try:
        outcome = _run(job, ctx)
    finally:
        leases.RUNNING_HERE.discard(job.pk)
        if beat is not None:
            beat.stop()
    if outcome is not None:
        status, message, error, result = outcome
        if _with_db_retries(
            "final write",
            job_id,
            lambda: _finish(job, lease, status, message=message, error=error, result=result),
        ):
            return status
    logger.warning(
        "job %s: another attempt holds the job now; this copy (lease %s) wrote nothing more",
        job_id,
        lease,
    )
    return ""
