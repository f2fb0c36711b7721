"""Submitting, cancelling and retrying jobs (the API, the admin and other apps call these).

Celery carries only the job id; the row is the source of truth. Messages are published
with ``transaction.on_commit`` so a worker never sees a job its creator rolled back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import ACTIVE_STATUSES, Job, JobStatus
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


def queue_name(queue: str) -> str:
    """The broker queue for a logical queue ('interactive'/'batch'), with the deployment prefix.

    ``LABEL360_QUEUE_PREFIX`` (settings or environment) isolates deployments or tests that
    share one broker; workers must then consume ``<prefix>interactive,<prefix>batch``.
    """
    return f"{getattr(settings, 'LABEL360_QUEUE_PREFIX', '')}{queue}"


def dedupe_key(kind: str, project_id: int | None, panorama_ids: Iterable[int], params: dict) -> str:
    payload = json.dumps(
        [kind, project_id, sorted(set(panorama_ids)), params], sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _active_duplicate(key: str) -> Job | None:
    return Job.objects.filter(dedupe_key=key, status__in=ACTIVE_STATUSES).first()


def _enqueue(job: Job) -> None:
    """Publish run_job(job.id) on the kind's queue once the current transaction commits."""
    from .tasks import run_job

    queue = queue_name(get_kind(job.kind).queue)
    task_id = job.celery_task_id
    job_id = job.pk

    def publish() -> None:
        run_job.apply_async(args=[job_id], queue=queue, task_id=task_id)

    transaction.on_commit(publish)


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
    existing = _active_duplicate(key)
    if existing is not None:
        raise DuplicateJob(existing)
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind,
                project=project,
                params=clean,
                requester=requester if getattr(requester, "is_authenticated", False) else None,
                dedupe_key=key,
                celery_task_id=uuid.uuid4().hex,
                message="queued",
            )
            if panoramas:
                job.panoramas.set(panoramas)
            _enqueue(job)
    except IntegrityError:
        existing = _active_duplicate(key)
        if existing is None:
            raise
        raise DuplicateJob(existing) from None
    logger.info("job %s (%s) submitted on queue %s", job.pk, kind, job_kind.queue)
    return job


def cancel_job(job: Job) -> Job:
    """Cancel a job: a queued one at once, a running one at its next cancellation point."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status == JobStatus.QUEUED:
            job.status = JobStatus.CANCELLED
            job.cancel_requested = True
            job.finished_at = timezone.now()
            job.message = "cancelled before it started"
            job.save(update_fields=["status", "cancel_requested", "finished_at", "message"])
        elif job.status == JobStatus.RUNNING:
            job.cancel_requested = True
            job.message = "cancelling…"
            job.save(update_fields=["cancel_requested", "message"])
        else:
            raise JobStateError(f"a {job.status} job cannot be cancelled")
    return job


def retry_job(job: Job) -> Job:
    """Queue a failed or cancelled job again (same row; attempts keeps counting)."""
    try:
        with transaction.atomic():
            job = Job.objects.select_for_update().get(pk=job.pk)
            if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
                raise JobStateError(f"a {job.status} job cannot be retried")
            existing = _active_duplicate(job.dedupe_key) if job.dedupe_key else None
            if existing is not None:
                raise DuplicateJob(existing)
            job.status = JobStatus.QUEUED
            job.cancel_requested = False
            job.progress = 0.0
            job.error = ""
            job.message = "queued (retry)"
            job.result = {}
            job.started_at = None
            job.finished_at = None
            job.celery_task_id = uuid.uuid4().hex
            job.save()
            _enqueue(job)
    except IntegrityError:
        existing = _active_duplicate(job.dedupe_key)
        if existing is None:
            raise
        raise DuplicateJob(existing) from None
    return job
