"""Run an export of any format into a zip file on disk (streamed, memory bounded)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from annotations.models import Project

from ..selection import ExportOptions, OptionsError, selected_panoramas
from ..splits import SplitError, assign, split_names, splits_document
from .common import ExportContext, ProgressFn, dumps

SPLITS = "splits.json"


def assign_splits(archive: zipfile.ZipFile, ctx: ExportContext) -> None:
    """Assign every selected panorama to its split (``ctx.splits``), write ``splits.json``
    and the counts into the summary."""
    spec = ctx.options.split
    panoramas = selected_panoramas(ctx.project, ctx.options)
    ctx.splits = assign(
        spec, panoramas.values_list("id", "sha256", "metadata").iterator(chunk_size=2000)
    )
    try:
        ctx.split_names = split_names(spec, ctx.splits)
    except SplitError as exc:
        raise OptionsError(str(exc)) from exc
    rows = panoramas.values_list("id", "sha256", "original_name").iterator(chunk_size=2000)
    document = splits_document(
        spec, ctx.split_names, ((pk, sha, name, ctx.splits[pk]) for pk, sha, name in rows)
    )
    archive.writestr(SPLITS, dumps(document))
    ctx.summary["splits"] = document["counts"]


def write_export(
    project: Project,
    options: ExportOptions,
    path: str | Path,
    progress: ProgressFn | None = None,
    check_cancelled=None,
    workers: int = 1,
) -> dict[str, Any]:
    """Write the export zip to ``path``; returns a summary (counts, skipped items)."""
    ctx = ExportContext(
        project=project,
        options=options,
        progress=progress or (lambda f, m: None),
        check_cancelled=check_cancelled or (lambda: None),
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        if options.split is not None:
            assign_splits(archive, ctx)
        if options.format == "coco":
            from .coco import write_coco

            write_coco(archive, ctx, workers=workers)
        elif options.format == "coco_views":
            from .coco_views import write_coco_views

            write_coco_views(archive, ctx)
        elif options.format == "png":
            from .labelpng import write_label_pngs

            write_label_pngs(archive, ctx)
        elif options.format == "label360":
            from .label360 import write_label360

            write_label360(archive, ctx)
        else:  # validated earlier; defensive
            raise ValueError(f"unknown format {options.format}")
    ctx.progress(1.0, "done")
    return ctx.summary
