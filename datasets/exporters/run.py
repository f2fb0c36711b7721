"""Run an export of any format into a zip file on disk (streamed, memory bounded)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from annotations.models import Project

from ..selection import ExportOptions
from .common import ExportContext, ProgressFn


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
