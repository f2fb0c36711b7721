"""Running one job: state transitions, failures with clear messages, cancellation.

``execute`` is what the Celery task calls; tests call it directly for in-process runs.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from .models import FINAL_STATUSES, Job, JobStatus
from .registry import JobCancelled, JobContext, JobError, ParamsError, get_kind

logger = logging.getLogger(__name__)


def _claim(job_id: int, task_id: str) -> Job | None:
    """Mark the job running (attempts + 1); None if there is nothing to do."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            logger.warning("job %s does not exist (deleted?); message dropped", job_id)
            return None
        if job.status in FINAL_STATUSES:
            logger.info("job %s already %s; nothing to do", job_id, job.status)
            return None
        if job.cancel_requested:
            _finish(job, JobStatus.CANCELLED, message="cancelled before it started")
            return None
        restarted = job.status == JobStatus.RUNNING
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = timezone.now()
        job.progress = 0.0
        job.error = ""
        job.message = "restarted after a lost worker" if restarted else "started"
        if task_id:
            job.celery_task_id = task_id
        job.save()
        if restarted:
            logger.warning("job %s re-delivered while running: restarting it cleanly", job_id)
        return job


def _finish(job: Job, status: str, message: str = "", error: str = "", result=None) -> None:
    job.status = status
    job.finished_at = timezone.now()
    job.message = message[:500]
    job.error = error
    if status == JobStatus.SUCCEEDED:
        job.progress = 1.0
    if result is not None:
        job.result = result
    job.save(update_fields=["status", "finished_at", "message", "error", "progress", "result"])


def execute(job_id: int, task_id: str = "") -> str:
    """Run the job to a final state and return that state (or '' if nothing was run)."""
    job = _claim(job_id, task_id)
    if job is None:
        return ""
    ctx = JobContext(job)
    try:
        kind = get_kind(job.kind)
        job.params = kind.clean_params(job.params)
        ctx.check_cancelled()
        result = kind.handler(job, ctx)
        ctx.check_cancelled()
    except JobCancelled:
        _finish(job, JobStatus.CANCELLED, message="cancelled")
    except (JobError, ParamsError) as exc:
        text = exc.message if isinstance(exc, JobError) else f"invalid params: {exc}"
        logger.info("job %s failed: %s", job_id, text)
        _finish(job, JobStatus.FAILED, message="failed", error=text)
    except KeyError as exc:
        text = str(exc.args[0]) if exc.args else str(exc)
        logger.exception("job %s failed", job_id)
        _finish(job, JobStatus.FAILED, message="failed", error=f"unexpected error: {text}")
    except Exception as exc:  # the UI gets one line; the traceback goes to the log
        logger.exception("job %s failed with an unexpected error", job_id)
        text = f"unexpected error: {type(exc).__name__}: {str(exc)[:300]}"
        _finish(job, JobStatus.FAILED, message="failed", error=text)
    else:
        if not isinstance(result, dict):
            result = {"value": result}
        _finish(job, JobStatus.SUCCEEDED, message="done", result=result)
    return job.status
