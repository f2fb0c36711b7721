"""Semantic and instance label PNGs on the equirect grid (Cityscapes-style ids).

Class ids are the classes' numbers among ALL the project's classes (1-based, in class
order: order, name, id), so a class keeps its id in every export of the project whatever
classes are selected; ``legend.json`` also gives each selected class a contiguous
``train_id`` (0..K-1, 255 for ignore classes) as Cityscapes does.

Per panorama: ``semantic/<name>.png`` (8-bit when every id ≤ 254, else 16-bit; 0 =
unlabelled, the class id, 255 (65535 when 16-bit) = ignore classes) and ``instance/<name>.png`` (16-bit; 0 =
unlabelled). Instance ids: ``png_ids='cityscapes'`` (default) ``class_id * 1000 + n`` for the
n-th instance (n ≥ 1) of a thing class, ``class_id`` alone for group and ignore classes;
``png_ids='sequential'``: the n-th exported instance of the panorama (1..65535) with an index
``instance/<name>.json`` mapping each id to its class and instance. Overlaps: later instances
(drawing order) win. ``colour/<name>.png`` is a colour rendering of the semantic map. With a
split, every file is under its split: ``semantic/<split>/<name>.png``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import numpy as np

from .. import geom
from ..selection import MASK_FIELDS, check_feasible, iter_panorama_instances
from .common import ExportContext, dumps, image_name

IGNORE_ID = 255
WIDE_IGNORE_ID = 65535


def _hex_to_bgr(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    try:
        r, g, b = int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    except (ValueError, IndexError):
        return (0, 0, 255)
    return (b, g, r)


def ignore_id(ctx: ExportContext) -> int:
    """255, or 65535 when a class number exceeds 254 (the semantic PNG is then 16-bit)."""
    numbers = ctx.class_numbers
    top = max((numbers[c.pk] for c in ctx.classes if not c.is_ignore), default=0)
    return IGNORE_ID if top <= 254 else WIDE_IGNORE_ID


def legend(ctx: ExportContext) -> list[dict[str, Any]]:
    numbers = ctx.class_numbers
    ignored = ignore_id(ctx)
    out = [
        {
            "id": 0,
            "train_id": ignored,
            "name": "unlabelled",
            "color": "#000000",
            "is_ignore": False,
            "is_group": False,
        }
    ]
    train_id = 0
    for c in ctx.classes:
        entry = {
            "id": ignored if c.is_ignore else numbers[c.pk],
            "class_number": numbers[c.pk],
            "train_id": ignored if c.is_ignore else train_id,
            "name": c.name,
            "color": c.color,
            "is_ignore": c.is_ignore,
            "is_group": c.is_group,
            "label360_class_id": c.pk,
        }
        if ctx.options.png_ids == "cityscapes":
            entry["instance_id_base"] = numbers[c.pk] * 1000
        train_id += 0 if c.is_ignore else 1
        out.append(entry)
    return out


def _png(image: np.ndarray) -> bytes:
    import cv2  # only here: importing the exporter stays light

    ok, data = cv2.imencode(".png", np.ascontiguousarray(image))
    if not ok:
        raise ValueError("PNG encoding failed")
    return data.tobytes()


def _write_legend(archive: zipfile.ZipFile, entries: list[dict[str, Any]]) -> None:
    archive.writestr("legend.json", dumps(entries))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = ["id", "train_id", "name", "color", "is_ignore", "is_group", "instance_id_base"]
    writer.writerow(columns)
    for e in entries:
        writer.writerow([e.get(k, "") for k in columns])
    archive.writestr("legend.csv", buffer.getvalue())


def write_label_pngs(archive: zipfile.ZipFile, ctx: ExportContext) -> dict[str, Any]:
    check_feasible(ctx.project, ctx.options)  # the request checked it; labels may have changed
    numbers = ctx.class_numbers
    selected = {c.pk for c in ctx.classes}
    ignore = {c.pk for c in ctx.classes if c.is_ignore}
    group = {c.pk for c in ctx.classes if c.is_group}
    names = {c.pk: c.name for c in ctx.classes}
    sequential = ctx.options.png_ids == "sequential"
    entries = legend(ctx)
    _write_legend(archive, entries)
    ignored = ignore_id(ctx)
    semantic_type = np.uint8 if ignored == IGNORE_ID else np.uint16
    palette = np.zeros((max(e["id"] for e in entries) + 1, 3), np.uint8)
    for e in entries:
        palette[e["id"]] = _hex_to_bgr(e["color"])
    done = instances = 0
    for pano, rows in iter_panorama_instances(ctx.project, ctx.options, fields=MASK_FIELDS):
        rows = [r for r in rows if r["label_class_id"] in selected]
        if ctx.options.ignore == "omit":
            rows = [r for r in rows if r["label_class_id"] not in ignore]
        labels = geom.sphere().label_map([r["geometry"] for r in rows], pano.width, pano.height)
        semantic_lut = np.zeros(len(rows) + 1, semantic_type)
        instance_lut = np.zeros(len(rows) + 1, np.uint16)
        counters: dict[int, int] = {}
        index = {}
        for k, r in enumerate(rows):
            cid = r["label_class_id"]
            semantic_lut[k + 1] = ignored if cid in ignore else numbers[cid]
            if sequential:
                instance_lut[k + 1] = k + 1
                index[str(k + 1)] = {
                    "class_id": numbers[cid],
                    "name": names[cid],
                    "instance_id": r["id"],
                    "is_ignore": cid in ignore,
                    "is_group": cid in group,
                }
            elif cid in ignore or cid in group:
                instance_lut[k + 1] = numbers[cid]
            else:
                counters[cid] = counters.get(cid, 0) + 1
                instance_lut[k + 1] = numbers[cid] * 1000 + counters[cid]
        semantic = semantic_lut[labels]
        stem = image_name(pano, suffix=".png")
        split = ctx.split_for(pano.pk)
        folder = "" if split is None else split + "/"
        archive.writestr(f"semantic/{folder}{stem}", _png(semantic))
        archive.writestr(f"instance/{folder}{stem}", _png(instance_lut[labels]))
        archive.writestr(f"colour/{folder}{stem}", _png(palette[semantic]))
        if sequential:
            archive.writestr(f"instance/{folder}{stem[:-4]}.json", dumps(index))
        instances += len(rows)
        done += 1
        ctx.tick(done)
    ctx.summary.update(panoramas=done, instances=instances)
    return ctx.summary
