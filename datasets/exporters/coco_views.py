"""COCO on rectilinear views: cube faces (any face FOV) or a list of NFOV views.

Every (panorama, view) pair is one COCO image. Instances are projected exactly into the
view with ``label360.sphere.geometry_to_view`` (great-circle edges are straight lines in a
view, so the clipped pixel polygons are exact). Coordinates follow COCO: continuous pixel
coordinates with pixel (x, y) covering [x, x+1) × [y, y+1), i.e. the core's pixel-centre
coordinates + 0.5. ``segmentation`` is polygons when a part has no holes, else an RLE of the
polygons with holes; ``label360_polygons`` always has the exact polygons with holes.
Each image records ``view`` = {yaw, pitch, roll, hfov, width, height} (CONVENTIONS.md) and
``panorama_id``, so a reader can map any pixel back to the sphere.
"""

from __future__ import annotations

import zipfile
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from .. import geom
from ..metadata import coco_info, dataset_metadata
from ..selection import MASK_FIELDS, iter_panorama_instances, selected_panoramas
from .coco import annotations_member
from .common import ExportContext, SplitJsonFiles, category_list, image_name, read_image


def export_views(ctx: ExportContext) -> list[tuple[str, Any]]:
    """(name, View) of every view each panorama is exported as."""
    View = geom.sphere().View
    if ctx.options.views == "cubemap":
        faces = geom.sphere().cube_face_views(ctx.options.face_size, ctx.options.face_fov)
        return list(zip(("F", "R", "B", "L", "U", "D"), faces, strict=True))
    return [(f"v{k}", View(*v)) for k, v in enumerate(ctx.options.view_list)]


def view_annotation(geometry: list, view) -> dict[str, Any] | None:
    """COCO segmentation/area/bbox of one instance in one view; None if not visible."""
    parts = geom.sphere().geometry_to_view(geometry, view)
    if not parts:
        return None
    h, w = int(view.height), int(view.width)
    polygons = [[(np.asarray(r, dtype=float) + 0.5) for r in part] for part in parts]
    has_holes = any(len(p) > 1 for p in polygons)
    flat = [p[0].ravel().tolist() for p in polygons if len(p[0]) >= 3]
    if not flat:
        return None
    mask_rle = mask_utils.merge(mask_utils.frPyObjects(flat, h, w))
    if has_holes:
        holes = [r.ravel().tolist() for p in polygons for r in p[1:] if len(r) >= 3]
        outer = mask_utils.decode(mask_rle).astype(bool)
        inner = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(holes, h, w))).astype(
            bool
        )
        mask_rle = mask_utils.encode(np.asfortranarray((outer & ~inner).astype(np.uint8)))
    area = int(mask_utils.area(mask_rle))
    xy = np.concatenate([p[0] for p in polygons])
    x0, y0 = float(xy[:, 0].min()), float(xy[:, 1].min())
    bbox = [x0, y0, float(xy[:, 0].max()) - x0, float(xy[:, 1].max()) - y0]
    if has_holes:
        segmentation: Any = {"size": [h, w], "counts": mask_rle["counts"].decode("ascii")}
    else:
        segmentation = flat
    return {
        "segmentation": segmentation,
        "area": area,
        "bbox": bbox,
        "label360_polygons": [[r.tolist() for r in p] for p in polygons],
    }


def view_image_entry(
    image_id: int, pano, name: str, view, split: str | None, license_id: int | None
) -> dict[str, Any]:
    """The COCO image of one (panorama, view): its parameters and its camera-to-world
    rotation matrix written out in full (``rotation[r][c]``, applied to camera rays)."""
    entry: dict[str, Any] = {
        "id": image_id,
        "file_name": "images/" + image_name(pano, suffix=f"_{name}.jpg"),
        "width": int(view.width),
        "height": int(view.height),
    }
    if license_id is not None:
        entry["license"] = license_id
    if split is not None:
        entry["split"] = split
    entry.update(
        panorama_id=pano.pk,
        panorama_name=pano.original_name,
        view_name=name,
        view=view.as_dict(),
        rotation=[[float(x) for x in row] for row in view.rotation()],
        focal=float(view.focal),
        projection="rectilinear",
    )
    return entry


def write_coco_views(archive: zipfile.ZipFile, ctx: ExportContext) -> dict[str, Any]:
    views = export_views(ctx)
    category = ctx.category_ids
    ignore = {c.pk for c in ctx.classes if c.is_ignore}
    include = ctx.options.include_images
    meta = dataset_metadata(ctx.project)
    names: list[str | None] = list(ctx.split_names) if ctx.splits is not None else [None]
    files = SplitJsonFiles(names, annotations_member)
    try:
        image_id = ann_id = done = 0
        for pano, rows in iter_panorama_instances(ctx.project, ctx.options, fields=MASK_FIELDS):
            split = ctx.split_for(pano.pk)
            rows = [r for r in rows if r["label_class_id"] in category]
            if ctx.options.ignore == "omit":
                rows = [r for r in rows if r["label_class_id"] not in ignore]
            for name, view in views:
                image_id += 1
                files.add(
                    split,
                    "images",
                    view_image_entry(image_id, pano, name, view, split, meta["image_license"]),
                )
                for row in rows:
                    entry = view_annotation(row["geometry"], view)
                    if entry is None:
                        continue
                    if entry["area"] == 0:  # visible, but covers no pixel of the view
                        ctx.summary["empty_view_masks"] = ctx.summary.get("empty_view_masks", 0) + 1
                        continue
                    ann_id += 1
                    files.add(
                        split,
                        "annotations",
                        {
                            "id": ann_id,
                            "image_id": image_id,
                            "category_id": category[row["label_class_id"]],
                            "iscrowd": 1 if row["label_class_id"] in ignore else 0,
                            **entry,
                            "attributes": row["attributes"],
                            "label360": {
                                "instance_id": row["id"],
                                "source": row["source"],
                                "score": row["score"],
                            },
                        },
                    )
            done += 1
            ctx.tick(done)
        head = {
            "info": coco_info(ctx.project, _info(ctx)),
            "licenses": meta["licenses"],
            "categories": category_list(ctx),
        }
        files.write(archive, head)
    finally:
        files.close()
    if include:  # a second pass: the zip takes one open member at a time
        for pano in selected_panoramas(ctx.project, ctx.options).iterator(chunk_size=100):
            ctx.check_cancelled()
            pixels = read_image(pano)
            for name, view in views:
                file_name = "images/" + image_name(pano, suffix=f"_{name}.jpg")
                _write_view_image(archive, file_name, pixels, view, ctx.options.image_quality)
    ctx.summary.update(images=image_id, annotations=ann_id, panoramas=done)
    return ctx.summary


def _write_view_image(archive, file_name: str, pixels: np.ndarray, view, quality: int) -> None:
    from label360.sphere.projection import equirect_to_view

    face = equirect_to_view(
        pixels, view.yaw, view.pitch, view.roll, view.hfov, view.width, view.height
    )
    ok, data = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    archive.writestr(file_name, data.tobytes())


def _info(ctx: ExportContext) -> dict[str, Any]:
    return {
        "projection": "rectilinear",
        "view_convention": "camera-to-world R = Ry(yaw)·Rx(-pitch)·Rz(-roll); the COCO "
        "coordinate (u, v) has camera ray ((u - W/2)/f, -(v - H/2)/f, 1), f = (W/2)/tan(hfov/2); "
        "world direction = R · ray; world (x, y, z) = (cos lat sin lon, sin lat, cos lat cos lon)",
        # the three factors in full (c = cos a, s = sin a), rows first; each image also has
        # its product as "rotation" (3x3), so nothing has to be rebuilt from the angles
        "rotation_matrices": {
            "Ry(a)": [["c", "0", "s"], ["0", "1", "0"], ["-s", "0", "c"]],
            "Rx(a)": [["1", "0", "0"], ["0", "c", "-s"], ["0", "s", "c"]],
            "Rz(a)": [["c", "s", "0"], ["-s", "c", "0"], ["0", "0", "1"]],
            "note": "Rz turns the picture clockwise for a > 0 (the left-handed sign), so "
            "roll > 0 turns the image clockwise as seen by the viewer",
        },
        "category_ids": "the project's class ids (stable across exports of the project)",
        "split": None if ctx.splits is None else "see splits.json",
        "options": ctx.options.as_dict(),
    }
