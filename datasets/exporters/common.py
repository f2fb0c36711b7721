"""Shared pieces of the exporters: the export context, JSON streaming, image copying."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from annotations.models import LabelClass, Panorama, Project

from ..selection import ExportOptions, selected_classes, selected_panoramas

ProgressFn = Callable[[float, str], None]


@dataclass
class ExportContext:
    """What every exporter gets: project, options, the classes in order, a progress hook."""

    project: Project
    options: ExportOptions
    progress: ProgressFn = lambda fraction, message: None
    check_cancelled: Callable[[], None] = lambda: None
    classes: list[LabelClass] = field(default_factory=list)
    panorama_count: int = 0
    summary: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.classes:
            self.classes = selected_classes(self.project, self.options)
        self.panorama_count = selected_panoramas(self.project, self.options).count()

    @property
    def category_ids(self) -> dict[int, int]:
        """LabelClass id -> 1-based category id (export order)."""
        return {c.pk: k + 1 for k, c in enumerate(self.classes)}

    def tick(self, done: int, what: str = "panoramas") -> None:
        if done % 10 == 0 or done == self.panorama_count:
            self.check_cancelled()
            total = max(self.panorama_count, 1)
            self.progress(min(done / total, 1.0), f"{done}/{self.panorama_count} {what}")


def dumps(value: Any) -> str:
    """Compact JSON (floats round-trip exactly)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class JsonArrayWriter:
    """Writes ``"key":[item,item,...]`` to a text stream one item at a time."""

    def __init__(self, stream: IO[str], key: str, first_key: bool = False) -> None:
        self.stream = stream
        self.count = 0
        stream.write(("" if first_key else ",") + dumps(key) + ":[")

    def add(self, item: Any) -> None:
        self.stream.write(("," if self.count else "") + dumps(item))
        self.count += 1

    def close(self) -> None:
        self.stream.write("]")


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def export_source(panorama: Panorama):
    """(file, extension or None) of the image exports use for this panorama: the anonymised
    image when its privacy blur asked for that (docs/detectors.md), else the original."""
    from inference.detectors.jobs import export_asset

    asset = export_asset(panorama)
    if asset is None:
        return panorama.image, None
    return asset.file, asset.file.name.rsplit(".", 1)[-1]


def image_name(panorama: Panorama, suffix: str | None = None) -> str:
    """Stable, unique, file-system-safe name of a panorama's image inside the archive."""
    base = _SAFE.sub("_", panorama.original_name).strip("._") or "panorama"
    if suffix is None:
        extension = export_source(panorama)[1]
        if extension is not None:  # the anonymised file may be of another kind (PNG for JPEG)
            suffix = "." + extension
    if suffix is not None:
        stem = base.rsplit(".", 1)[0]
        return f"{panorama.pk:06d}_{stem}{suffix}"
    return f"{panorama.pk:06d}_{base}"


def copy_image(archive: zipfile.ZipFile, panorama: Panorama, arcname: str) -> None:
    """Copy the stored panorama file into the archive in chunks (never whole in memory)."""
    source = export_source(panorama)[0]
    with source.open("rb") as src, archive.open(arcname, "w", force_zip64=True) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    source.close()


def read_image(panorama: Panorama):
    """The panorama's pixels as an (H, W, 3) uint8 BGR array (OpenCV order)."""
    import cv2
    import numpy as np

    source = export_source(panorama)[0]
    with source.open("rb") as src:
        data = src.read()
    source.close()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot decode the image of panorama {panorama.pk}")
    return image


def category_list(ctx: ExportContext) -> list[dict[str, Any]]:
    return [
        {
            "id": k + 1,
            "name": c.name,
            "supercategory": "",
            "color": c.color,
            "is_ignore": c.is_ignore,
            "is_group": c.is_group,
            "label360_class_id": c.pk,
        }
        for k, c in enumerate(ctx.classes)
    ]
