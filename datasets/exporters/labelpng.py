"""Semantic and instance label PNGs on the equirect grid (Cityscapes-style ids).

Per panorama: ``semantic/<name>.png`` (8-bit; 0 = unlabelled, k = k-th selected class in
export order, 255 = ignore classes) and ``instance/<name>.png`` (16-bit; 0 = unlabelled,
``class_id * 1000 + n`` for the n-th instance (n ≥ 1) of a thing class, ``class_id`` alone for
group and ignore classes, as in Cityscapes). Overlaps: later instances (drawing order) win.
``legend.json`` / ``legend.csv`` give id, name, colour and flags; ``colour/<name>.png`` is a
colour rendering of the semantic map.
"""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import cv2
import numpy as np

from .. import geom
from ..selection import check_feasible, iter_panorama_instances
from .common import ExportContext, dumps, image_name

IGNORE_ID = 255


def _hex_to_bgr(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    try:
        r, g, b = int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    except (ValueError, IndexError):
        return (0, 0, 255)
    return (b, g, r)


def legend(ctx: ExportContext) -> list[dict[str, Any]]:
    out = [
        {"id": 0, "name": "unlabelled", "color": "#000000", "is_ignore": False, "is_group": False}
    ]
    for k, c in enumerate(ctx.classes):
        out.append(
            {
                "id": IGNORE_ID if c.is_ignore else k + 1,
                "instance_id_base": (k + 1) * 1000,
                "name": c.name,
                "color": c.color,
                "is_ignore": c.is_ignore,
                "is_group": c.is_group,
                "label360_class_id": c.pk,
            }
        )
    return out


def _png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", np.ascontiguousarray(image))
    if not ok:
        raise ValueError("PNG encoding failed")
    return data.tobytes()


def write_label_pngs(archive: zipfile.ZipFile, ctx: ExportContext) -> dict[str, Any]:
    check_feasible(ctx.project, ctx.options)  # the request checked it; labels may have changed
    index = {c.pk: k + 1 for k, c in enumerate(ctx.classes)}
    ignore = {c.pk for c in ctx.classes if c.is_ignore}
    group = {c.pk for c in ctx.classes if c.is_group}
    entries = legend(ctx)
    archive.writestr("legend.json", dumps(entries))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "name", "color", "is_ignore", "is_group", "instance_id_base"])
    for e in entries:
        writer.writerow(
            [
                e["id"],
                e["name"],
                e["color"],
                e["is_ignore"],
                e["is_group"],
                e.get("instance_id_base", ""),
            ]
        )
    archive.writestr("legend.csv", buffer.getvalue())
    palette = np.zeros((256, 3), np.uint8)
    for e in entries:
        palette[e["id"]] = _hex_to_bgr(e["color"])
    done = instances = 0
    for pano, rows in iter_panorama_instances(ctx.project, ctx.options):
        rows = [r for r in rows if r["label_class_id"] in index]
        if ctx.options.ignore == "omit":
            rows = [r for r in rows if r["label_class_id"] not in ignore]
        labels = geom.sphere().label_map([r["geometry"] for r in rows], pano.width, pano.height)
        semantic_lut = np.zeros(len(rows) + 1, np.uint8)
        instance_lut = np.zeros(len(rows) + 1, np.uint16)
        counters: dict[int, int] = {}
        for k, r in enumerate(rows):
            cid = r["label_class_id"]
            semantic_lut[k + 1] = IGNORE_ID if cid in ignore else index[cid]
            if cid in ignore or cid in group:
                instance_lut[k + 1] = index[cid]
            else:
                counters[cid] = counters.get(cid, 0) + 1
                instance_lut[k + 1] = index[cid] * 1000 + counters[cid]
        semantic = semantic_lut[labels]
        stem = image_name(pano, suffix=".png")
        archive.writestr("semantic/" + stem, _png(semantic))
        archive.writestr("instance/" + stem, _png(instance_lut[labels]))
        archive.writestr("colour/" + stem, _png(palette[semantic]))
        instances += len(rows)
        done += 1
        ctx.tick(done)
    ctx.summary.update(panoramas=done, instances=instances)
    return ctx.summary
