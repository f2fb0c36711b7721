"""Import of COCO instance segmentation drawn on equirect images.

Images are matched to panoramas by the sha256 of the image file when the archive holds it
(created in the project when missing), else by ``label360.sha256`` of the image entry, else
by file name (``original_name``). Each annotation is converted by
:func:`datasets.importers.pixels.segmentation_geometry`: polygon vertices straight to the
sphere (densified only where a pixel edge strays from its great circle), RLE masks traced on a
crop around the object; every coordinate and count is checked before use. Categories are
matched to classes by name; a category's ``is_ignore``/``is_group`` flags (written by the
Label360 exporter) are given to classes the import creates, and ``iscrowd: 1`` is kept as the
instance attribute ``iscrowd`` (exported back as ``iscrowd: 1``).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np
from django.conf import settings

from annotations.models import Instance, Project

from ..rle import RleError, Runs, rle_runs, runs_to_rle
from .common import (
    ImportFailed,
    ImportReport,
    Source,
    StoredFiles,
    all_skipped,
    class_map,
    class_name_problem,
    ensure_class,
    find_panorama,
    locked_reason,
    replace_panorama_instances,
    run_atomically,
)
from .pixels import ShapeError, segmentation_geometry


def import_coco(
    project: Project,
    path: str,
    user=None,
    replace: bool = True,
    strict: bool = False,
    create_classes: bool = True,
    tolerance_deg: float = 0.05,
    tolerance_px: float = 0.5,
    report: ImportReport | None = None,
) -> ImportReport:
    report = report or ImportReport(format="coco")
    try:
        source = Source(path, ("annotations/instances.json", "annotations.json"))
        data = source.load_json()
    except ImportFailed as exc:
        report.error = str(exc)
        return report
    try:
        if isinstance(data, list):
            report.error = "not a COCO file: the top level is a list, not an object"
            return report
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("images"), list)
            or not isinstance(data.get("annotations"), list)
        ):
            report.error = "not a COCO file (needs 'images' and 'annotations' lists)"
            return report
        try:
            plan = _plan(project, data, source, report, create_classes, tolerance_deg, tolerance_px)
        except ImportFailed as exc:
            report.error = str(exc)
            return report
        files = StoredFiles()
        return run_atomically(
            report, strict, files, lambda: _write(project, plan, files, report, user, replace)
        )
    finally:
        source.close()


def _category_flags(category: dict) -> dict[str, bool]:
    block = category.get("label360") if isinstance(category.get("label360"), dict) else {}
    return {
        key: bool(category.get(key, block.get(key, False)))
        for key in ("is_ignore", "is_group")
        if isinstance(category.get(key, block.get(key, False)), bool)
    }


def _plan(project, data, source, report, create_classes, tolerance_deg, tolerance_px) -> dict:
    categories = {}
    for k, c in enumerate(data.get("categories") or []):
        if not isinstance(c, dict) or "id" not in c:
            report.skip(f"categories[{k}]", "a category needs an id and a name")
            continue
        problem = class_name_problem(c.get("name"))
        if problem:
            report.skip(f"categories[{k}]", problem)
            continue
        categories[c["id"]] = c
    existing = class_map(project)
    max_w = int(getattr(settings, "LABEL360_MAX_PANORAMA_WIDTH", 16384))
    images = {}
    total = len(data["images"]) + len(data["annotations"])
    done = 0
    for k, img in enumerate(data["images"]):
        done += 1
        report.tick(done, total, "items")
        name = img.get("file_name") if isinstance(img, dict) else None
        where = f"images[{k}] ({name if isinstance(name, str) else '?'})"
        if not isinstance(img, dict) or "id" not in img:
            report.skip(where, "an image needs an id")
            continue
        width, height = img.get("width"), img.get("height")
        if (
            not isinstance(width, int)
            or not isinstance(height, int)
            or isinstance(width, bool)
            or width != 2 * height
            or not 2 <= width <= max_w
        ):
            report.skip(where, f"equirect images need integer width = 2 × height ≤ {max_w}")
            continue
        data_bytes = source.read(name)
        sha = hashlib.sha256(data_bytes).hexdigest() if data_bytes is not None else None
        block = img.get("label360") if isinstance(img.get("label360"), dict) else {}
        if sha is None and isinstance(block.get("sha256"), str):
            sha = block["sha256"]
        pano = find_panorama(project, sha, name if isinstance(name, str) else None)
        if pano is None and data_bytes is None:
            report.skip(
                where, "no matching panorama in the project and no image file in the archive"
            )
            continue
        locked = locked_reason(pano)
        if locked:
            report.skip(where, locked)
            continue
        if pano is not None and (pano.width, pano.height) != (width, height):
            report.skip(
                where,
                f"size {width}×{height} differs from the panorama's {pano.width}×{pano.height}",
            )
            continue
        stem = os.path.basename(name) if isinstance(name, str) and name else f"image_{img['id']}"
        try:
            images[img["id"]] = {
                "panorama": pano,
                "bytes": data_bytes,
                "name": stem,
                "w": width,
                "h": height,
                "instances": [],
                "skipped": 0,
                "where": where,
            }
        except TypeError:  # an unhashable id (a list, an object)
            report.skip(where, "an image id must be a number or a string")
    for k, ann in enumerate(_merge_seam_parts(data["annotations"], images, report)):
        done += 1
        report.tick(done, total, "items")
        where = f"annotations[{k}]"
        if not isinstance(ann, dict):
            report.skip(where, "not an object")
            continue
        where = f"annotations[{k}] (id {ann.get('id')!r})"
        try:
            image = images.get(ann.get("image_id"))
            category = categories.get(ann.get("category_id"))
        except TypeError:
            report.skip(where, "image_id and category_id must be numbers or strings")
            continue
        if image is None:
            report.skip(where, f"image {ann.get('image_id')!r} missing or skipped")
            continue
        problem = None
        if category is None:
            problem = f"unknown category {ann.get('category_id')!r}"
        elif category["name"] not in existing and not create_classes:
            problem = f"no class named {category['name']!r} in the project"
        else:
            try:
                geometry, how = segmentation_geometry(
                    ann.get("segmentation"), image["w"], image["h"], tolerance_px, tolerance_deg
                )
            except ShapeError as exc:
                problem = f"bad segmentation: {exc}"
            else:
                if not geometry:
                    problem = "empty mask (no pixel inside)"
        if problem is not None:
            report.skip(where, problem)
            image["skipped"] += 1
            continue
        report.count(how)
        attributes = {"coco_id": ann.get("id")} if isinstance(ann.get("id"), int | str) else {}
        if ann.get("iscrowd") in (1, True):
            attributes["iscrowd"] = 1
        score = ann.get("score")
        image["instances"].append(
            {
                "class": category["name"],
                "category": category,
                "geometry": geometry,
                "attributes": attributes,
                "score": score
                if isinstance(score, int | float) and not isinstance(score, bool)
                else None,
            }
        )
    return {"images": list(images.values())}


def _seam_key(ann: Any) -> tuple | None:
    """(image id, instance id) of one half of an object split at the seam by our exporter
    (``label360.seam_part`` west/east with an RLE), else None."""
    if not isinstance(ann, dict) or not isinstance(ann.get("segmentation"), dict):
        return None
    block = ann.get("label360")
    if not isinstance(block, dict) or block.get("seam_part") not in ("west", "east"):
        return None
    image, instance = ann.get("image_id"), block.get("instance_id")
    if not isinstance(image, int | str) or not isinstance(instance, int | str):
        return None
    return (image, instance)


def _merge_seam_parts(annotations: list, images: dict, report: ImportReport) -> list:
    """Join the two halves of each object a ``seam='split'`` export wrote (same image and
    ``label360.instance_id``) into one RLE annotation, so it comes back as one instance.
    The halves cover disjoint columns, so their union is exactly the original mask; halves
    that cannot be read are left alone (and reported by the normal path)."""
    groups: dict[tuple, list[int]] = {}
    for k, ann in enumerate(annotations):
        key = _seam_key(ann)
        if key is not None:
            groups.setdefault(key, []).append(k)
    if not groups:
        return annotations
    out = list(annotations)
    for (image_id, _), members in groups.items():
        image = images.get(image_id)
        if image is None or len(members) < 2:
            continue
        try:
            parts = [rle_runs(out[k]["segmentation"], image["h"], image["w"]) for k in members]
        except RleError:
            continue
        cols = np.concatenate([p.cols for p in parts])
        starts = np.concatenate([p.starts for p in parts])
        ends = np.concatenate([p.ends for p in parts])
        order = np.lexsort((starts, cols))
        cols, starts, ends = cols[order], starts[order], ends[order]
        same_column = cols[1:] == cols[:-1]
        if (same_column & (starts[1:] < ends[:-1])).any():
            continue  # overlapping halves: not ours; each is imported as it is
        joined = Runs(cols, starts, ends)
        first = dict(out[members[0]])
        first["segmentation"] = runs_to_rle(joined, image["h"], image["w"])
        out[members[0]] = first
        for k in members[1:]:
            out[k] = None
        report.count("seam_parts_joined")
    return [a for a in out if a is not None]


def _write(project, plan, files: StoredFiles, report: ImportReport, user, replace: bool) -> None:
    classes = class_map(project)
    author = user if user is not None and user.is_authenticated else None
    for image in plan["images"]:
        report.check_cancelled()
        pano = image["panorama"]
        if all_skipped(report, image["where"], image["skipped"], len(image["instances"])):
            continue
        if pano is None:
            pano = files.store(project, image["name"], image["bytes"], user)
            report.panoramas_created += 1
        else:
            report.panoramas_updated += 1
        instances = []
        for order, inst in enumerate(image["instances"]):
            cat = inst["category"]
            cls = ensure_class(
                project,
                classes,
                inst["class"],
                report,
                True,
                color=cat.get("color"),
                **_category_flags(cat),
            )
            instances.append(
                Instance(
                    label_class=cls,
                    geometry=inst["geometry"],
                    source="import",
                    score=inst["score"],
                    order=order,
                    attributes=inst["attributes"],
                    created_by=author,
                    updated_by=author,
                )
            )
        replace_panorama_instances(pano, instances, replace, report)
        report.instances_created += len(instances)


__all__ = ["import_coco"]
