"""Helpers of the dataset tests: labelled projects and export round trips."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from annotations.models import Instance, LabelClass, Panorama
from datasets.exporters.run import write_export
from datasets.selection import ExportOptions

SEAM = [[[[170.0, -10.0], [-170.0, -10.0], [-170.0, 20.0], [170.0, 20.0]]]]
CAP = [[[[0.0, 75.0], [90.0, 75.0], [-180.0, 75.0], [-90.0, 75.0]]]]
HOLED = [
    [
        [[-60.0, -30.0], [-20.0, -30.0], [-20.0, 10.0], [-60.0, 10.0]],
        [[-45.0, -15.0], [-45.0, -5.0], [-35.0, -5.0], [-35.0, -15.0]],
    ]
]
SQUARE = [[[[20.0, -5.0], [40.0, -5.0], [40.0, 15.0], [20.0, 15.0]]]]


def label(panorama: Panorama, geometries: list, user=None, **extra) -> list[Instance]:
    classes = list(LabelClass.objects.filter(project=panorama.project).order_by("order"))
    out = []
    for k, g in enumerate(geometries):
        out.append(
            Instance.objects.create(
                panorama=panorama,
                label_class=classes[k % len(classes)],
                geometry=g,
                order=k,
                created_by=user,
                updated_by=user,
                **extra,
            )
        )
    Panorama.objects.filter(pk=panorama.pk).update(revision=panorama.revision + 1)
    return out


def export(project, tmp_path: Path, **options) -> Path:
    path = tmp_path / f"export-{options.get('format', 'coco')}.zip"
    write_export(project, ExportOptions.from_dict(options), path)
    return path


def read_json(path: Path, member: str) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(member))
