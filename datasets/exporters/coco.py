"""COCO instance segmentation on the equirectangular images (masks as COCO RLE).

Masks are built from ``label360.sphere.column_intervals`` — the exact rasterisation
(a pixel is in an instance iff its centre direction is inside) as per-column runs —
straight into RLE counts, so no H×W mask is ever materialised. ``area`` is the pixel
count, ``area_sr`` the exact area on the sphere, ``bbox`` the plain COCO box of the mask
and ``bbox_wrapped`` the seam-aware box whose ``x + w`` may exceed W.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from annotations.activity import by_panorama

from .. import geom
from ..rle import runs_bbox, runs_bbox_wrapped, runs_to_rle
from ..selection import iter_panorama_instances, selected_panoramas
from .common import ExportContext, JsonArrayWriter, category_list, copy_image, dumps, image_name

ANNOTATIONS = "annotations/instances.json"


def encode_geometry(geometry: list, width: int, height: int) -> dict[str, Any]:
    """RLE, pixel area, boxes and spherical area of one instance (pure; picklable)."""
    runs = geom.runs(geometry, width, height, validate=False)  # stored: validated on write
    return {
        "segmentation": runs_to_rle(runs, height, width),
        "area": runs.area,
        "bbox": runs_bbox(runs),
        "bbox_wrapped": runs_bbox_wrapped(runs, width),
        "area_sr": geom.area_of_valid(geometry),
    }


def _encode_batch(batch: tuple[int, int, list[list]]) -> list[dict[str, Any] | None]:
    """Encodings of one panorama's instances; None for a geometry the core rejects."""
    width, height, geometries = batch
    out: list[dict[str, Any] | None] = []
    for g in geometries:
        try:
            out.append(encode_geometry(g, width, height))
        except ValueError:  # GeometryError: stored geometry invalid (should not happen)
            out.append(None)
    return out


def image_entry(
    pano, include_images: bool, active: dict[str, float] | None = None
) -> dict[str, Any]:
    return {
        "id": pano.pk,
        "file_name": "images/" + image_name(pano),
        "width": pano.width,
        "height": pano.height,
        "label360": {
            "panorama_id": pano.pk,
            "original_name": pano.original_name,
            "sha256": pano.sha256,
            "status": pano.status,
            "revision": pano.revision,
            "projection": "equirectangular",
            "image_included": include_images,
            # active annotation time (seconds) per user, recorded by the workspace
            "active_seconds": round(sum((active or {}).values()), 1),
            "active_time": active or {},
        },
    }


def _encoded_stream(
    ctx: ExportContext, workers: int
) -> Iterator[tuple[Any, list[dict], list[dict]]]:
    """(panorama, its exported instance rows, their encodings) in panorama order."""
    category = ctx.category_ids
    ignore = {c.pk for c in ctx.classes if c.is_ignore}

    def wanted() -> Iterator[tuple[Any, list[dict]]]:
        for pano, rows in iter_panorama_instances(ctx.project, ctx.options):
            rows = [r for r in rows if r["label_class_id"] in category]
            if ctx.options.ignore == "omit":
                rows = [r for r in rows if r["label_class_id"] not in ignore]
            yield pano, rows

    if workers <= 1:
        for pano, rows in wanted():
            yield (
                pano,
                rows,
                _encode_batch((pano.width, pano.height, [r["geometry"] for r in rows])),
            )
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        window: list = []
        for pano, rows in wanted():
            batch = (pano.width, pano.height, [r["geometry"] for r in rows])
            window.append((pano, rows, pool.submit(_encode_batch, batch)))
            if len(window) >= workers * 4:  # bounded in-flight work keeps memory flat
                p, r, fut = window.pop(0)
                yield p, r, fut.result()
        for p, r, fut in window:
            yield p, r, fut.result()


def annotation_entries(
    ctx: ExportContext, rows: Iterable[dict], encodings: Iterable[dict], image_id: int, next_id: int
) -> tuple[list[dict[str, Any]], int]:
    """COCO annotation dicts of one panorama; instances whose mask is empty are left out."""
    category = ctx.category_ids
    ignore = {c.pk for c in ctx.classes if c.is_ignore}
    out = []
    for row, enc in zip(rows, encodings, strict=True):
        if enc is None:
            ctx.summary.setdefault("invalid_geometry", []).append(row["id"])
            continue
        if enc["area"] == 0:
            ctx.summary["empty_masks"] = ctx.summary.get("empty_masks", 0) + 1
            continue
        entry = {
            "id": next_id,
            "image_id": image_id,
            "category_id": category[row["label_class_id"]],
            "iscrowd": 1 if row["label_class_id"] in ignore else 0,
            **enc,
            "attributes": row["attributes"],
            "label360": {
                "instance_id": row["id"],
                "source": row["source"],
                "is_suggestion": row["is_suggestion"],
                "score": row["score"],
                "model_version": row["model_version"],
            },
        }
        out.append(entry)
        next_id += 1
    return out, next_id


def write_coco(archive: zipfile.ZipFile, ctx: ExportContext, workers: int = 1) -> dict[str, Any]:
    """Write ``annotations/instances.json`` (and ``images/`` if asked) into the archive."""
    include = ctx.options.include_images
    with archive.open(ANNOTATIONS, "w", force_zip64=True) as raw:
        out = io.TextIOWrapper(io.BufferedWriter(raw, 1 << 20), encoding="utf-8")
        out.write("{" + dumps("info") + ":" + dumps(_info(ctx)))
        out.write("," + dumps("licenses") + ":[]")
        out.write("," + dumps("categories") + ":" + dumps(category_list(ctx)))
        images = JsonArrayWriter(out, "images")
        active = by_panorama(ctx.project.pk)
        for pano in selected_panoramas(ctx.project, ctx.options).iterator(chunk_size=500):
            images.add(image_entry(pano, include, active.get(pano.pk)))
        images.close()
        annotations = JsonArrayWriter(out, "annotations")
        next_id, done = 1, 0
        for pano, rows, encodings in _encoded_stream(ctx, workers):
            entries, next_id = annotation_entries(ctx, rows, encodings, pano.pk, next_id)
            for entry in entries:
                annotations.add(entry)
            done += 1
            ctx.tick(done)
        annotations.close()
        out.write("}")
        out.flush()
        out.detach()
    if include:
        _copy_images(archive, ctx)
    ctx.summary.update(images=images.count, annotations=annotations.count)
    return ctx.summary


def _copy_images(archive: zipfile.ZipFile, ctx: ExportContext) -> None:
    for pano in selected_panoramas(ctx.project, ctx.options).iterator(chunk_size=200):
        ctx.check_cancelled()
        copy_image(archive, pano, "images/" + image_name(pano))


def _info(ctx: ExportContext) -> dict[str, Any]:
    return {
        "description": f"Label360 export of project {ctx.project.name}",
        "version": "1.0",
        "projection": "equirectangular",
        "pixel_convention": "pixel (i, j) centre: lon=(i+0.5)/W*360-180, lat=90-(j+0.5)/H*180",
        "mask_rule": "a pixel belongs to an instance iff its centre direction is inside",
        "bbox_wrapped": "seam-aware [x, y, w, h]; x + w may exceed W (continue at column 0)",
        "options": ctx.options.as_dict(),
    }
