"""Background job kinds of this app, registered with the inference job system.

``export``: params ``{"export_id": id}``; streams the export zip to a temporary file and
hands it to the storage (the job context's ``save_file`` takes bytes, which would hold the
whole export in memory, so the file goes to the storage directly). Result:
``{"export_id", "status", "summary"}``. Whatever ends the job early (an error, a
cancellation, a lost worker found by the sweep) leaves the Export row ``failed``, never
``running``.

``import``: params ``{"import_id": id}``; runs the stored upload through the importer with
progress and cancellation (:mod:`datasets.imports`). Result: the bounded report.
"""

from __future__ import annotations

try:
    from inference.registry import JobError, ParamsError, job_kind
except ImportError:  # the job system is optional: exports then run inline
    job_kind = None

if job_kind is not None:

    def _validate_export(params: dict) -> dict:
        if not isinstance(params.get("export_id"), int):
            raise ParamsError("export_id (an integer) is required")
        return {"export_id": params["export_id"]}

    @job_kind(
        "export",
        queue="batch",
        label="Dataset export",
        validate=_validate_export,
        admin_targets=(),
        per_panorama=False,
    )
    def export_job(job, ctx) -> dict:
        """Write a dataset export (COCO, COCO views, label PNGs or Label360 JSON)."""
        from .models import Export
        from .selection import OptionsError
        from .services import export_result, mark_failed, perform_export

        export_id = job.params["export_id"]
        try:
            perform_export(export_id, progress=ctx.progress, check_cancelled=ctx.check_cancelled)
            return export_result(Export.objects.get(pk=export_id))
        except Export.DoesNotExist as exc:
            raise JobError("the export was deleted") from exc
        except OptionsError as exc:
            mark_failed(export_id, str(exc))
            raise JobError(str(exc)) from exc
        except BaseException as exc:
            mark_failed(export_id, f"{type(exc).__name__}: {exc}")
            raise

    def _validate_import(params: dict) -> dict:
        if not isinstance(params.get("import_id"), int):
            raise ParamsError("import_id (an integer) is required")
        return {"import_id": params["import_id"]}

    @job_kind(
        "import",
        queue="batch",
        label="Dataset import",
        validate=_validate_import,
        admin_targets=(),
        per_panorama=False,
    )
    def import_job(job, ctx) -> dict:
        """Import a dataset file (Label360 JSON, COCO or LabelMe) into a project."""
        from .imports import perform_import
        from .models import Import

        try:
            report = perform_import(
                job.params["import_id"], progress=ctx.progress, check_cancelled=ctx.check_cancelled
            )
        except Import.DoesNotExist as exc:
            raise JobError("the import was deleted") from exc
        if not report.get("committed"):
            raise JobError(report.get("error") or "nothing was imported")
        return report
