"""Dispatch an import by format."""

from __future__ import annotations

from annotations.models import Project

from .common import ImportReport

IMPORT_FORMATS = ("label360", "coco", "labelme")


def run_import(project: Project, fmt: str, path: str, user=None, **options) -> ImportReport:
    """Import ``path`` (a .json or .zip) of format ``fmt`` into ``project``.

    ``options``: replace (default True: the matched panoramas' instances are replaced, so a
    re-import is idempotent), strict, create_classes, and ``report`` (an ImportReport whose
    ``progress``/``check_cancelled`` hooks the import calls)."""
    if fmt == "label360":
        from .label360 import import_label360

        return import_label360(project, path, user, **options)
    if fmt == "coco":
        from .coco import import_coco

        return import_coco(project, path, user, **options)
    if fmt == "labelme":
        from .labelme import import_labelme

        return import_labelme(project, path, user, **options)
    report = ImportReport(format=fmt)
    report.error = f"unknown import format {fmt!r}; use one of {', '.join(IMPORT_FORMATS)}"
    return report
