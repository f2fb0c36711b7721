"""COCO instance segmentation on the equirectangular images (masks as COCO RLE).

Masks are built from ``label360.sphere.column_intervals`` — the exact rasterisation
(a pixel is in an instance iff its centre direction is inside) as per-column runs —
straight into RLE counts, so no H×W mask is ever materialised. ``area`` is the pixel
count, ``area_sr`` the exact area on the sphere, ``bbox`` the plain COCO box of the mask
and ``bbox_wrapped`` the seam-aware box whose ``x + w`` may exceed W. With ``seam='split'``
an object across the ±180° seam is written as two annotations (:mod:`datasets.seam`).

Category ids are the classes' own ids (stable across filtered exports). With a split, one
file per split (``annotations/instances_<split>.json``) and a ``split`` field on each image.
HDR panoramas (and 16-bit images) are also written as 8-bit PNGs, tone-mapped as the
workspace shows them, and ``file_name`` names that PNG so PIL-based loaders open it.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from annotations.activity import by_panorama

from .. import geom
from ..metadata import coco_info, dataset_metadata
from ..rle import runs_bbox, runs_bbox_wrapped, runs_to_rle
from ..seam import crosses_seam, part_area, split_runs
from ..selection import MASK_FIELDS, iter_panorama_instances, selected_panoramas
from .common import (
    ExportContext,
    SplitJsonFiles,
    category_list,
    copy_image,
    eight_bit_png,
    image_name,
)

ANNOTATIONS = "annotations/instances.json"
#: The instance fields the export writes; the geometry comes as JSON text (``geometry_json``).
_FIELDS = tuple(name for name in MASK_FIELDS if name != "geometry")
#: Suffix of the 8-bit copy of an HDR / 16-bit panorama.
EIGHT_BIT_SUFFIX = "_8bit.png"


def annotations_member(split: str | None) -> str:
    """``annotations/instances.json``, or ``annotations/instances_<split>.json``."""
    return ANNOTATIONS if split is None else f"annotations/instances_{split}.json"


def encode_geometry(
    geometry: list, width: int, height: int, seam_split: bool = False
) -> list[dict[str, Any]]:
    """RLE, pixel area, boxes and spherical area of one instance (pure; picklable): one
    encoding, or with ``seam_split`` two for an object across the seam (west, east)."""
    runs = geom.runs(geometry, width, height, validate=False)  # stored: validated on write
    whole = {
        "segmentation": runs_to_rle(runs, height, width),
        "area": runs.area,
        "bbox": runs_bbox(runs),
        "bbox_wrapped": runs_bbox_wrapped(runs, width),
        "area_sr": geom.area_of_valid(geometry),
    }
    if not seam_split or runs.empty or not crosses_seam(whole["bbox_wrapped"], width):
        return [whole]
    parts, exact = split_runs(geometry, runs, width, height)
    out = []
    for side, (piece, part) in zip(("west", "east"), parts, strict=True):
        if part.empty:
            continue
        out.append(
            {
                "segmentation": runs_to_rle(part, height, width),
                "area": part.area,
                "bbox": runs_bbox(part),
                "bbox_wrapped": runs_bbox_wrapped(part, width),
                "area_sr": part_area(piece),
                "seam_part": side,
                "seam_exact": exact,
            }
        )
    return out


def _encode_batch(
    batch: tuple[int, int, list[str], bool],
) -> list[list[dict[str, Any]] | None]:
    """Encodings of one panorama's instances (geometries as JSON text: parsed here, in the
    worker, and a string is cheaper to send than nested lists); None for a geometry the
    core rejects."""
    width, height, geometries, seam_split = batch
    out: list[list[dict[str, Any]] | None] = []
    for text in geometries:
        try:
            out.append(encode_geometry(json.loads(text), width, height, seam_split))
        except ValueError:  # GeometryError: stored geometry invalid (should not happen)
            out.append(None)
    return out


def image_entry(
    pano,
    include_images: bool,
    active: dict[str, float] | None = None,
    split: str | None = None,
    license_id: int | None = None,
) -> dict[str, Any]:
    """The COCO image of a panorama. ``file_name`` is the image a loader should open: the
    original, or for HDR / 16-bit panoramas the 8-bit tone-mapped PNG (the original is then
    ``label360.original_file``)."""
    original = "images/" + image_name(pano)
    entry: dict[str, Any] = {
        "id": pano.pk,
        "file_name": "images/" + image_name(pano, suffix=EIGHT_BIT_SUFFIX)
        if pano.is_hdr
        else original,
        "width": pano.width,
        "height": pano.height,
    }
    if license_id is not None:
        entry["license"] = license_id
    if split is not None:
        entry["split"] = split
    entry["label360"] = {
        "panorama_id": pano.pk,
        "original_name": pano.original_name,
        "sha256": pano.sha256,
        "status": pano.status,
        "revision": pano.revision,
        "projection": "equirectangular",
        "image_included": include_images,
        "is_hdr": pano.is_hdr,
        "original_file": original,
        # active annotation time (seconds) per user, recorded by the workspace
        "active_seconds": round(sum((active or {}).values()), 1),
        "active_time": active or {},
    }
    return entry


def _encoded_stream(
    ctx: ExportContext, workers: int
) -> Iterator[tuple[Any, list[dict], list[list[dict] | None]]]:
    """(panorama, its exported instance rows, their encodings) in panorama order."""
    category = ctx.category_ids
    ignore = {c.pk for c in ctx.classes if c.is_ignore}
    seam_split = ctx.options.seam == "split"

    def wanted() -> Iterator[tuple[Any, list[dict]]]:
        rows_of = iter_panorama_instances(
            ctx.project, ctx.options, fields=_FIELDS, geometry_text=True
        )
        for pano, rows in rows_of:
            rows = [r for r in rows if r["label_class_id"] in category]
            if ctx.options.ignore == "omit":
                rows = [r for r in rows if r["label_class_id"] not in ignore]
            yield pano, rows

    def batch(pano, rows) -> tuple[int, int, list[str], bool]:
        return (pano.width, pano.height, [r["geometry_json"] for r in rows], seam_split)

    if workers <= 1:
        for pano, rows in wanted():
            yield pano, rows, _encode_batch(batch(pano, rows))
        return
    # load the compiled rasteriser here, once: forked workers inherit it instead of each
    # loading it again (~0.2 s a worker)
    encode_geometry([[[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]]], 360, 180, seam_split)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        window: list = []
        for pano, rows in wanted():
            window.append((pano, rows, pool.submit(_encode_batch, batch(pano, rows))))
            if len(window) >= workers * 4:  # bounded in-flight work keeps memory flat
                p, r, fut = window.pop(0)
                yield p, r, fut.result()
        for p, r, fut in window:
            yield p, r, fut.result()


def annotation_entries(
    ctx: ExportContext,
    rows: Iterable[dict],
    encodings: Iterable[list[dict] | None],
    image_id: int,
    next_id: int,
    width: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """COCO annotation dicts of one panorama; instances whose mask is empty are left out.
    An instance split at the seam gives two annotations with the same
    ``label360.instance_id`` and ``label360.seam_part`` west/east."""
    category = ctx.category_ids
    ignore = {c.pk for c in ctx.classes if c.is_ignore}
    summary = ctx.summary
    out = []
    for row, encs in zip(rows, encodings, strict=True):
        if encs is None:
            summary.setdefault("invalid_geometry", []).append(row["id"])
            continue
        encs = [e for e in encs if e["area"] > 0]
        if not encs:
            summary["empty_masks"] = summary.get("empty_masks", 0) + 1
            continue
        if len(encs) > 1 or (width is not None and crosses_seam(encs[0]["bbox_wrapped"], width)):
            summary["seam_crossing"] = summary.get("seam_crossing", 0) + 1
        if len(encs) > 1:
            summary["seam_split"] = summary.get("seam_split", 0) + 1
            if not encs[0]["seam_exact"]:
                summary["seam_split_by_columns"] = summary.get("seam_split_by_columns", 0) + 1
        for enc in encs:
            part = enc.pop("seam_part", None)
            enc.pop("seam_exact", None)
            provenance = {
                "instance_id": row["id"],
                "source": row["source"],
                "is_suggestion": row["is_suggestion"],
                "score": row["score"],
                "model_version": row["model_version"],
            }
            if part is not None:
                provenance["seam_part"] = part
            out.append(
                {
                    "id": next_id,
                    "image_id": image_id,
                    "category_id": category[row["label_class_id"]],
                    "iscrowd": 1 if row["label_class_id"] in ignore else 0,
                    **enc,
                    "attributes": row["attributes"],
                    "label360": provenance,
                }
            )
            next_id += 1
    return out, next_id


def write_coco(archive: zipfile.ZipFile, ctx: ExportContext, workers: int = 1) -> dict[str, Any]:
    """Write the annotation file(s) (and ``images/`` if asked) into the archive."""
    include = ctx.options.include_images
    meta = dataset_metadata(ctx.project)
    names: list[str | None] = list(ctx.split_names) if ctx.splits is not None else [None]
    files = SplitJsonFiles(names, annotations_member)
    try:
        active = by_panorama(ctx.project.pk)
        for pano in selected_panoramas(ctx.project, ctx.options).iterator(chunk_size=500):
            split = ctx.split_for(pano.pk)
            files.add(
                split,
                "images",
                image_entry(pano, include, active.get(pano.pk), split, meta["image_license"]),
            )
        next_id, done = 1, 0
        for pano, rows, encodings in _encoded_stream(ctx, workers):
            entries, next_id = annotation_entries(
                ctx, rows, encodings, pano.pk, next_id, pano.width
            )
            split = ctx.split_for(pano.pk)
            for entry in entries:
                files.add(split, "annotations", entry)
            done += 1
            ctx.tick(done)
        head = {
            "info": coco_info(ctx.project, _info(ctx)),
            "licenses": meta["licenses"],
            "categories": category_list(ctx),
        }
        files.write(archive, head)
        ctx.summary.update(images=files.count("images"), annotations=files.count("annotations"))
    finally:
        files.close()
    if include:
        _copy_images(archive, ctx)
    return ctx.summary


def _copy_images(archive: zipfile.ZipFile, ctx: ExportContext) -> None:
    """The original files; HDR / 16-bit ones also as 8-bit tone-mapped PNGs."""
    for pano in selected_panoramas(ctx.project, ctx.options).iterator(chunk_size=200):
        ctx.check_cancelled()
        copy_image(archive, pano, "images/" + image_name(pano))
        if pano.is_hdr:
            archive.writestr(
                "images/" + image_name(pano, suffix=EIGHT_BIT_SUFFIX), eight_bit_png(pano)
            )


def _info(ctx: ExportContext) -> dict[str, Any]:
    return {
        "projection": "equirectangular",
        "pixel_convention": "pixel (i, j) centre: lon=(i+0.5)/W*360-180, lat=90-(j+0.5)/H*180",
        "mask_rule": "a pixel belongs to an instance iff its centre direction is inside",
        "bbox_wrapped": "seam-aware [x, y, w, h]; x + w may exceed W (continue at column 0)",
        "seam": "objects across lon ±180 have a full-width bbox"
        if ctx.options.seam == "whole"
        else "objects across lon ±180 are two annotations (label360.seam_part west/east) "
        "sharing label360.instance_id",
        "category_ids": "the project's class ids (stable across exports of the project)",
        "split": None if ctx.splits is None else "see splits.json",
        "options": ctx.options.as_dict(),
    }
