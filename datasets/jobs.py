"""Background job kinds of this app, registered with the inference job system.

``export``: params ``{"export_id": id}``; streams the export zip to a temporary file and
hands it to the storage (the job context's ``save_file`` takes bytes, which would hold the
whole export in memory, so the file goes to the storage directly). Result:
``{"export_id", "status", "summary"}``.
"""

from __future__ import annotations

try:
    from inference.registry import JobError, ParamsError, job_kind
except ImportError:  # the job system is optional: exports then run inline
    job_kind = None

if job_kind is not None:

    def _validate(params: dict) -> dict:
        if not isinstance(params.get("export_id"), int):
            raise ParamsError("export_id (an integer) is required")
        return {"export_id": params["export_id"]}

    @job_kind(
        "export",
        queue="batch",
        label="Dataset export",
        validate=_validate,
        admin_targets=(),
        per_panorama=False,
    )
    def export_job(job, ctx) -> dict:
        """Write a dataset export (COCO, COCO views, label PNGs or Label360 JSON)."""
        from .models import Export
        from .selection import OptionsError
        from .services import export_result, perform_export

        try:
            perform_export(
                job.params["export_id"], progress=ctx.progress, check_cancelled=ctx.check_cancelled
            )
        except Export.DoesNotExist as exc:
            raise JobError("the export was deleted") from exc
        except OptionsError as exc:
            raise JobError(str(exc)) from exc
        return export_result(Export.objects.get(pk=job.params["export_id"]))
