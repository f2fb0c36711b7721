"""Export requests: cache lookup, job submission, and running an export to storage."""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from annotations.models import Project

from .exporters.run import write_export
from .models import Export, ExportStatus
from .selection import ExportOptions, export_digest

log = logging.getLogger(__name__)


def find_cached(project: Project, digest: str) -> Export | None:
    """A ready export with this digest whose file still exists."""
    for export in Export.objects.filter(project=project, digest=digest, status=ExportStatus.READY):
        if export.file and export.file.storage.exists(export.file.name):
            return export
    return None


#: A pending or running export whose job is gone (or, without a job, this old) is stale.
STALE_WITHOUT_JOB_SECONDS = 600


def _in_progress(export: Export) -> bool:
    """Is this pending/running export really being worked on?  Its job must be queued or
    running; an export without a job (inline mode, or not yet submitted) only for a while."""
    if export.job_id:
        try:
            from inference.models import Job
        except ImportError:
            return False
        status = Job.objects.filter(pk=export.job_id).values_list("status", flat=True).first()
        return status in ("queued", "running")
    age = (timezone.now() - export.created_at).total_seconds()
    return age < STALE_WITHOUT_JOB_SECONDS


def request_export(project: Project, user, options: ExportOptions) -> tuple[Export, bool]:
    """(export, cached): reuse a ready or live running export of the same digest, else queue
    one. Pending/running rows whose job ended or vanished are marked failed, never reused."""
    digest = export_digest(project, options)
    cached = find_cached(project, digest)
    if cached is not None:
        return cached, True
    for running in Export.objects.filter(
        project=project, digest=digest, status__in=[ExportStatus.PENDING, ExportStatus.RUNNING]
    ):
        if _in_progress(running):
            return running, True
        mark_failed(running.pk, "its job ended without finishing the export")
    export = Export.objects.create(
        project=project,
        format=options.format,
        options=options.as_dict(),
        digest=digest,
        requested_by=user if user is not None and user.is_authenticated else None,
    )
    transaction.on_commit(lambda: submit(export, user))
    return export, False


def mark_failed(export_id: int, error: str) -> None:
    """Mark an unfinished export failed (a ready one is left alone)."""
    Export.objects.filter(pk=export_id).exclude(status=ExportStatus.READY).update(
        status=ExportStatus.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def submit(export: Export, user) -> None:
    """Queue the export as a background job on the batch queue.

    ``settings.LABEL360_EXPORTS_INLINE = True`` runs exports in the request instead (tests,
    tiny deployments without a worker).
    """
    if getattr(settings, "LABEL360_EXPORTS_INLINE", False):
        perform_export(export.pk)
        return
    from inference.services import DuplicateJob, submit_job

    try:
        job = submit_job("export", user, project=export.project, params={"export_id": export.pk})
    except DuplicateJob as exc:  # pragma: no cover - same export already queued
        job = exc.existing_job
    if job is not None:
        Export.objects.filter(pk=export.pk).update(job_id=job.pk)


def perform_export(export_id: int, progress=None, check_cancelled=None, workers: int = 1) -> dict:
    """Run one export: stream the zip to a temporary file, then hand it to the storage.
    Whatever goes wrong (options included) marks the row failed before the error goes on."""
    export = Export.objects.select_related("project").get(pk=export_id)
    if export.status == ExportStatus.READY:
        return export.summary
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING)
    fd, path = tempfile.mkstemp(suffix=".zip", prefix="label360-export-")
    os.close(fd)
    try:
        options = ExportOptions.from_dict(export.options)
        summary = write_export(
            export.project, options, path, progress, check_cancelled, workers=workers
        )
        name = f"exports/{export.project_id}/{export.format}-{export.digest[:16]}-{export.pk}.zip"
        with open(path, "rb") as handle:
            export.file.save(name, File(handle), save=False)
        export.size_bytes = os.path.getsize(path)
        export.summary = summary
        export.status = ExportStatus.READY
        export.finished_at = timezone.now()
        export.save(update_fields=["file", "size_bytes", "summary", "status", "finished_at"])
        return summary
    except BaseException as exc:
        mark_failed(export.pk, str(exc) or type(exc).__name__)
        raise
    finally:
        os.unlink(path)


def export_result(export: Export) -> dict[str, Any]:
    return {"export_id": export.pk, "status": export.status, "summary": export.summary}
