"""Shared pieces of the exporters: the export context, JSON streaming, image copying."""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
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
    #: panorama id -> split name when the export is split (:mod:`datasets.splits`), else None
    splits: dict[int, str] | None = None
    split_names: list[str] = field(default_factory=list)

    def split_for(self, panorama_id: int) -> str | None:
        return None if self.splits is None else self.splits[panorama_id]

    def __post_init__(self) -> None:
        if not self.classes:
            self.classes = selected_classes(self.project, self.options)
        self.panorama_count = selected_panoramas(self.project, self.options).count()

    @property
    def category_ids(self) -> dict[int, int]:
        """LabelClass id -> COCO category id: the class's own id, so a category keeps its id
        in every export of the project, whatever classes or panoramas are selected."""
        return {c.pk: c.pk for c in self.classes}

    @property
    def class_numbers(self) -> dict[int, int]:
        """LabelClass id -> its 1-based number among ALL the project's classes (order, name,
        id): the label PNGs' small, stable class ids (the same under any class filter)."""
        return project_class_numbers(self.project)

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


class SplitJsonFiles:
    """COCO-style JSON files, one per split, filled panorama by panorama in any order.

    A zip archive takes one open member at a time, so the ``images`` and ``annotations`` items
    of every split are streamed to temporary files first; :meth:`write` then writes each
    split's member ``{head..., "images": [...], "annotations": [...]}``. Without a split there
    is one member (``names = [None]``). Memory stays flat: items go to disk as they come.
    """

    KEYS = ("images", "annotations")

    def __init__(self, names: list[str | None], member: Callable[[str | None], str]) -> None:
        self.names = names
        self.member = member
        self.counts = {(n, k): 0 for n in names for k in self.KEYS}
        self._files: dict[tuple[str | None, str], IO[str]] = {}

    def add(self, split: str | None, key: str, item: Any) -> None:
        handle = self._files.get((split, key))
        if handle is None:
            handle = tempfile.TemporaryFile("w+", encoding="utf-8", prefix="label360-export-")
            self._files[(split, key)] = handle
        handle.write(("," if self.counts[(split, key)] else "") + dumps(item))
        self.counts[(split, key)] += 1

    def count(self, key: str) -> int:
        return sum(n for (_, k), n in self.counts.items() if k == key)

    def write(self, archive: zipfile.ZipFile, head: dict[str, Any]) -> None:
        """Write every split's member (empty splits too: a loader finds each file)."""
        for name in self.names:
            with archive.open(self.member(name), "w", force_zip64=True) as raw:
                out = io.TextIOWrapper(io.BufferedWriter(raw, 1 << 20), encoding="utf-8")
                out.write("{" + ",".join(dumps(k) + ":" + dumps(v) for k, v in head.items()))
                for key in self.KEYS:
                    out.write("," + dumps(key) + ":[")
                    handle = self._files.get((name, key))
                    if handle is not None:
                        handle.seek(0)
                        shutil.copyfileobj(handle, out, 1 << 20)
                    out.write("]")
                out.write("}")
                out.flush()
                out.detach()

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()


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


def _source_bytes(panorama: Panorama) -> bytes:
    source = export_source(panorama)[0]
    with source.open("rb") as src:
        data = src.read()
    source.close()
    return data


def tonemapped_rgb(panorama: Panorama, data: bytes | None = None):
    """The panorama as (H, W, 3) uint8 RGB, tone-mapped exactly as the workspace shows it
    (``annotations.imaging.tonemap_to_uint8``): HDR radiance and 16-bit images included."""
    from annotations.imageformats import decode, read_header
    from annotations.imaging import tonemap_to_uint8

    data = _source_bytes(panorama) if data is None else data
    return tonemap_to_uint8(decode(data, read_header(data)))


def eight_bit_png(panorama: Panorama) -> bytes:
    """An 8-bit RGB PNG of the panorama, tone-mapped as the workspace shows it."""
    import cv2

    ok, data = cv2.imencode(".png", tonemapped_rgb(panorama)[:, :, ::-1])
    if not ok:
        raise ValueError(f"PNG encoding failed for panorama {panorama.pk}")
    return data.tobytes()


def read_image(panorama: Panorama):
    """The panorama's pixels as an (H, W, 3) uint8 BGR array (OpenCV order); HDR and 16-bit
    panoramas tone-mapped as the workspace shows them."""
    import cv2
    import numpy as np

    data = _source_bytes(panorama)
    if panorama.is_hdr:
        return np.ascontiguousarray(tonemapped_rgb(panorama, data)[:, :, ::-1])
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot decode the image of panorama {panorama.pk}")
    return image


def project_class_numbers(project: Project) -> dict[int, int]:
    """LabelClass id -> 1-based number among all of the project's classes (order, name, id)."""
    ids = LabelClass.objects.filter(project=project).order_by("order", "name", "id")
    return {pk: k + 1 for k, pk in enumerate(ids.values_list("pk", flat=True))}


def category_list(ctx: ExportContext) -> list[dict[str, Any]]:
    """COCO categories of the selected classes (export order); ``id`` is the class's id."""
    return [
        {
            "id": c.pk,
            "name": c.name,
            "supercategory": "",
            "color": c.color,
            "is_ignore": c.is_ignore,
            "is_group": c.is_group,
            "label360_class_id": c.pk,
        }
        for c in ctx.classes
    ]
