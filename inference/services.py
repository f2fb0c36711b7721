"""Submitting, cancelling and retrying jobs (the API, the admin and other apps call these).

Celery carries only the job id; the row is the source of truth. Messages are published
with ``transaction.on_commit`` so a worker never sees a job its creator rolled back; the row
records whether that worked (``published_at``, see :mod:`inference.outbox`), and the sweep
publishes what a broker outage left behind. A running job whose worker is gone (stale
heartbeat, see :mod:`inference.leases`) can be retried, resubmitted or cancelled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from .leases import heartbeat_age, may_take_over
from .models import ACTIVE_STATUSES, Job, JobStatus
from .outbox import mark_queued, publish, publish_on_commit, queue_name
from .registry import ParamsError, get_kind

logger = logging.getLogger(__name__)

__all__ = [
    "DuplicateJob",
    "ParamsError",
    "cancel_job",
    "dedupe_key",
    "queue_name",
    "retry_job",
    "submit_job",
]


class DuplicateJob(Exception):
    """An identical job (kind + targets + params) is already queued or running."""

    def __init__(self, existing_job: Job):
        super().__init__(f"an identical job is already {existing_job.status}: #{existing_job.pk}")
        self.existing_job = existing_job


class JobStateError(ValueError):
    """The job is in a state that does not allow the operation."""


def dedupe_key(kind: str, project_id: int | None, panorama_ids: Iterable[int], params: dict) -> str:
    payload = json.dumps(
        [kind, project_id, sorted(set(panorama_ids)), params], sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _active_duplicate(key: str) -> Job | None:
    return Job.objects.filter(dedupe_key=key, status__in=ACTIVE_STATUSES).first()


def _retire_abandoned(job: Job) -> bool:
    """Fail a running duplicate whose worker is gone, so that a resubmission can replace it.

    Returns True when it was retired (the row is locked and checked again).
    """
    with transaction.atomic():
        locked = Job.objects.select_for_update().filter(pk=job.pk).first()
        if locked is None or not may_take_over(locked):
            return False
        age = heartbeat_age(locked)
        locked.status = JobStatus.FAILED
        locked.finished_at = timezone.now()
        locked.lease = ""
        locked.message = "failed"
        locked.error = (
            "its worker stopped "
            + ("(no heartbeat)" if age is None else f"(no heartbeat for {age:.0f} s)")
            + "; it was submitted again as a new job"
        )
        locked.save()
    logger.warning("job %s: worker gone; retired in favour of a resubmission", job.pk)
    return True


def _resolve_duplicate(key: str) -> Job | None:
    """The active duplicate that blocks a new submission, after clearing abandoned ones.

    A running duplicate without a worker is retired; a queued one that never reached the
    broker is published now (the caller still gets DuplicateJob with it).
    """
    existing = _active_duplicate(key)
    if existing is None:
        return None
    if existing.status == JobStatus.RUNNING and _retire_abandoned(existing):
        return _active_duplicate(key)
    if existing.status == JobStatus.QUEUED and existing.published_at is None:
        publish(existing)
    return existing


def submit_job(
    kind: str,
    requester=None,
    project=None,
    panoramas: Iterable = (),
    params: dict | None = None,
) -> Job:
    """Create and enqueue a job.

    Raises KeyError (unknown kind), ParamsError (invalid params, or panoramas of another
    project), DuplicateJob (an identical job is queued or running).
    """
    job_kind = get_kind(kind)
    clean = job_kind.clean_params(params)
    panoramas = list(panoramas)
    if project is None and panoramas:
        project_ids = {p.project_id for p in panoramas}
        if len(project_ids) == 1:
            project = panoramas[0].project
    if project is not None and any(p.project_id != project.pk for p in panoramas):
        raise ParamsError("all panoramas must belong to the job's project")
    key = dedupe_key(kind, project.pk if project else None, [p.pk for p in panoramas], clean)
    existing = _resolve_duplicate(key)
    if existing is not None:
        raise DuplicateJob(existing)
    try:
        with transaction.atomic():
            job = Job(
                kind=kind,
                project=project,
                params=clean,
                requester=requester if getattr(requester, "is_authenticated", False) else None,
                dedupe_key=key,
                celery_task_id=uuid.uuid4().hex,
                message="queued",
            )
            mark_queued(job)
            job.save()
            if panoramas:
                job.panoramas.set(panoramas)
            publish_on_commit(job)
    except IntegrityError:
        existing = _active_duplicate(key)
        if existing is None:
            raise
        raise DuplicateJob(existing) from None
    logger.info("job %s (%s) submitted on queue %s", job.pk, kind, job_kind.queue)
    return job


def cancel_job(job: Job) -> Job:
    """Cancel a job: a queued one (or a running one whose worker is gone) at once, a running
    one at its next cancellation point."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status == JobStatus.QUEUED or may_take_over(job):
            was_running = job.status == JobStatus.RUNNING
            job.status = JobStatus.CANCELLED
            job.cancel_requested = True
            job.finished_at = timezone.now()
            job.lease = ""
            job.message = (
                "cancelled (its worker had stopped)"
                if was_running
                else "cancelled before it started"
            )
            job.save(
                update_fields=["status", "cancel_requested", "finished_at", "message", "lease"]
            )
        elif job.status == JobStatus.RUNNING:
            job.cancel_requested = True
            job.message = "cancelling…"
            job.save(update_fields=["cancel_requested", "message"])
        else:
            raise JobStateError(f"a {job.status} job cannot be cancelled")
    return job


def retry_job(job: Job) -> Job:
    """Queue a failed or cancelled job again, or a running one whose worker is gone (same
    row; attempts keeps counting)."""
    try:
        with transaction.atomic():
            job = Job.objects.select_for_update().get(pk=job.pk)
            abandoned = may_take_over(job)
            if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED) and not abandoned:
                if job.status == JobStatus.RUNNING:
                    raise JobStateError(
                        "the job is running (its worker sent a heartbeat "
                        f"{heartbeat_age(job) or 0:.0f} s ago)"
                    )
                raise JobStateError(f"a {job.status} job cannot be retried")
            existing = _active_duplicate(job.dedupe_key) if job.dedupe_key else None
            if existing is not None and existing.pk != job.pk:
                raise DuplicateJob(existing)
            mark_queued(job)
            job.cancel_requested = False
            job.progress = 0.0
            job.error = ""
            job.message = "queued (retry)"
            job.result = {}
            job.started_at = None
            job.finished_at = None
            job.celery_task_id = uuid.uuid4().hex
            job.save()
            publish_on_commit(job)
    except IntegrityError:
        existing = _active_duplicate(job.dedupe_key)
        if existing is None:
            raise
        raise DuplicateJob(existing) from None
    return job
