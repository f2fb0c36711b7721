"""Dataset imports as background jobs: store the upload, queue the job, run it, keep the report.

The uploaded file goes to the storage (``imports/…``) so that any worker can read it; the job
kind ``import`` (:mod:`datasets.jobs`) copies it to a temporary file and runs the importer with
progress and cancellation. The ``Import`` row keeps a bounded report (counts and the first
``REPORT_LIMIT`` problems) and the full report as a JSON file. With
``settings.LABEL360_IMPORTS_INLINE = True`` (tests, tiny deployments without a worker) the import
runs in the request instead.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from annotations.models import Project

from .importers.common import ImportReport
from .importers.run import IMPORT_FORMATS, run_import
from .models import Import, ImportStatus


class ImportRequestError(ValueError):
    """The import cannot be queued (the message says why; the API answers 400/413)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def max_import_bytes() -> int:
    return int(getattr(settings, "LABEL360_MAX_IMPORT_BYTES", 2 * 1024**3))


def request_import(project: Project, user, upload, fmt: str, options: dict[str, Any]) -> Import:
    """Store ``upload`` and queue its import (or run it now, inline mode)."""
    if fmt not in IMPORT_FORMATS:
        raise ImportRequestError(f"format must be one of {', '.join(IMPORT_FORMATS)}")
    limit = max_import_bytes()
    if upload.size > limit:
        raise ImportRequestError(
            f"the file has {upload.size} bytes; imports of at most {limit} bytes are accepted",
            status=413,
        )
    name = os.path.basename(upload.name or "import")[:200]
    row = Import(
        project=project,
        format=fmt,
        options=options,
        original_name=name,
        size_bytes=upload.size,
        requested_by=user if user is not None and user.is_authenticated else None,
    )
    suffix = ".zip" if name.lower().endswith(".zip") else ".json"
    row.file.save(f"{project.pk}/upload{suffix}", upload, save=False)
    row.save()
    transaction.on_commit(lambda: submit(row, user))
    return row


def submit(row: Import, user) -> None:
    if getattr(settings, "LABEL360_IMPORTS_INLINE", False):
        perform_import(row.pk)
        return
    from inference.services import DuplicateJob, submit_job

    try:
        job = submit_job("import", user, project=row.project, params={"import_id": row.pk})
    except DuplicateJob as exc:  # pragma: no cover - one job per import row
        job = exc.existing_job
    Import.objects.filter(pk=row.pk).update(job_id=job.pk)


def perform_import(import_id: int, progress=None, check_cancelled=None) -> dict[str, Any]:
    """Run one import; the row ends ``done``, ``failed`` or ``cancelled`` whatever happens."""
    row = Import.objects.select_related("project", "requested_by").get(pk=import_id)
    if row.status in (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED):
        return row.report
    Import.objects.filter(pk=row.pk).update(status=ImportStatus.RUNNING)
    report = ImportReport(format=row.format)
    if progress is not None:
        report.progress = progress
    if check_cancelled is not None:
        report.check_cancelled = check_cancelled
    suffix = ".zip" if row.file.name.endswith(".zip") else ".json"
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="label360-import-")
    try:
        with os.fdopen(fd, "wb") as out, row.file.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        row.file.close()
        opts = row.options or {}
        report = run_import(
            row.project,
            row.format,
            path,
            row.requested_by,
            replace=bool(opts.get("replace", True)),
            strict=bool(opts.get("strict", False)),
            create_classes=bool(opts.get("create_classes", True)),
            report=report,
        )
    except BaseException as exc:
        cancelled = type(exc).__name__ == "JobCancelled"
        _finish(
            row,
            report,
            ImportStatus.CANCELLED if cancelled else ImportStatus.FAILED,
            "cancelled: nothing was imported" if cancelled else f"unexpected error: {exc}",
        )
        raise
    finally:
        os.unlink(path)
    status = ImportStatus.DONE if report.committed else ImportStatus.FAILED
    _finish(row, report, status, report.error or "")
    return Import.objects.get(pk=row.pk).report


def sync_with_job(row: Import) -> Import:
    """A pending/running import whose job ended without running it (cancelled before it
    started, or failed outside the import) takes the job's end state."""
    if row.status not in (ImportStatus.PENDING, ImportStatus.RUNNING) or not row.job_id:
        return row
    try:
        from inference.models import Job
    except ImportError:
        return row
    job = Job.objects.filter(pk=row.job_id).values("status", "error").first()
    ended = {"cancelled": ImportStatus.CANCELLED, "failed": ImportStatus.FAILED}
    if job is None or job["status"] in ended:
        status = ended.get(job["status"], ImportStatus.FAILED) if job else ImportStatus.FAILED
        error = (
            "cancelled: nothing was imported"
            if status == ImportStatus.CANCELLED
            else ((job or {}).get("error") or "its job ended without running the import")
        )
        Import.objects.filter(pk=row.pk, status=row.status).update(
            status=status, error=error[:2000], finished_at=timezone.now()
        )
        row.refresh_from_db()
    return row


def _finish(row: Import, report: ImportReport, status: str, error: str) -> None:
    full = json.dumps(report.as_dict(limit=None), ensure_ascii=False, indent=1)
    row.report_file.save(f"{row.project_id}/report-{row.pk}.json", ContentFile(full), save=False)
    row.report = report.as_dict()
    row.status = status
    row.error = error[:2000]
    row.finished_at = timezone.now()
    row.save(update_fields=["report_file", "report", "status", "error", "finished_at"])
