"""Import of COCO instance segmentation drawn on equirect images.

Images are matched to panoramas by the sha256 of the image file when the archive holds it
(created in the project when missing), else by ``label360.sha256`` of the image entry, else
by file name (``original_name``). Each annotation's mask (polygons or RLE) is decoded on the
image grid and turned into spherical polygons by the geometry core's ``mask_to_geometry``
(contours of the mask, simplified within ``tolerance_deg``). Categories are matched to
classes by name.
"""

from __future__ import annotations

import os

from annotations.models import Instance, Project

from .common import (
    ImportFailed,
    ImportReport,
    Source,
    StoredFiles,
    check_geometry,
    class_map,
    ensure_class,
    find_panorama,
    replace_panorama_instances,
    run_atomically,
)
from .pixels import coco_segmentation_mask, mask_geometry


def import_coco(
    project: Project,
    path: str,
    user=None,
    replace: bool = False,
    strict: bool = False,
    create_classes: bool = True,
    tolerance_deg: float = 0.05,
) -> ImportReport:
    report = ImportReport(format="coco")
    try:
        source = Source(path, ("annotations/instances.json", "annotations.json"))
        data = source.load_json()
    except ImportFailed as exc:
        report.error = str(exc)
        return report
    try:
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("images"), list)
            or not isinstance(data.get("annotations"), list)
        ):
            report.error = "not a COCO file (needs 'images' and 'annotations' lists)"
            return report
        plan = _plan(project, data, source, report, create_classes, tolerance_deg)
        files = StoredFiles()
        return run_atomically(
            report, strict, files, lambda: _write(project, plan, files, report, user, replace)
        )
    finally:
        source.close()


def _plan(project, data, source, report, create_classes, tolerance_deg) -> dict:
    categories = {}
    for c in data.get("categories") or []:
        if isinstance(c, dict) and "id" in c and isinstance(c.get("name"), str):
            categories[c["id"]] = c
    existing = class_map(project)
    images = {}
    for k, img in enumerate(data["images"]):
        where = f"images[{k}] ({img.get('file_name', '?') if isinstance(img, dict) else '?'})"
        if not isinstance(img, dict) or "id" not in img:
            report.skip(where, "an image needs an id")
            continue
        width, height = img.get("width"), img.get("height")
        if not isinstance(width, int) or not isinstance(height, int) or width != 2 * height:
            report.skip(where, "equirect images need integer width = 2 × height")
            continue
        data_bytes = source.read(img.get("file_name", ""))
        sha = None
        if data_bytes is not None:
            import hashlib

            sha = hashlib.sha256(data_bytes).hexdigest()
        sha = sha or (img.get("label360") or {}).get("sha256")
        pano = find_panorama(project, sha, img.get("file_name"))
        if pano is None and data_bytes is None:
            report.skip(
                where, "no matching panorama in the project and no image file in the archive"
            )
            continue
        if pano is not None and (pano.width, pano.height) != (width, height):
            report.skip(
                where,
                f"size {width}×{height} differs from the panorama's {pano.width}×{pano.height}",
            )
            continue
        name = os.path.basename(img.get("file_name") or f"image_{img['id']}")
        images[img["id"]] = {
            "panorama": pano,
            "bytes": data_bytes,
            "name": name,
            "w": width,
            "h": height,
            "instances": [],
        }
    for k, ann in enumerate(data["annotations"]):
        where = f"annotations[{k}]"
        if not isinstance(ann, dict):
            report.skip(where, "not an object")
            continue
        where = f"annotations[{k}] (id {ann.get('id')})"
        image = images.get(ann.get("image_id"))
        if image is None:
            report.skip(where, f"image {ann.get('image_id')!r} missing or skipped")
            continue
        category = categories.get(ann.get("category_id"))
        if category is None:
            report.skip(where, f"unknown category {ann.get('category_id')!r}")
            continue
        if category["name"] not in existing and not create_classes:
            report.skip(where, f"no class named {category['name']!r} in the project")
            continue
        try:
            mask = coco_segmentation_mask(ann.get("segmentation"), image["h"], image["w"])
        except (ValueError, TypeError) as exc:
            report.skip(where, f"bad segmentation: {exc}")
            continue
        if not mask.any():
            report.skip(where, "empty mask")
            continue
        try:
            geometry = mask_geometry(mask, tolerance_deg)
        except Exception as exc:  # the core reports untraceable masks as errors
            report.skip(where, f"mask could not be converted: {exc}")
            continue
        geometry, problem = check_geometry(geometry)
        if problem:
            report.skip(where, f"converted geometry invalid: {problem}")
            continue
        attributes = {"coco_id": ann.get("id")}
        if ann.get("iscrowd"):
            attributes["iscrowd"] = 1
        image["instances"].append(
            {
                "class": category["name"],
                "category": category,
                "geometry": geometry,
                "attributes": attributes,
                "score": ann.get("score"),
            }
        )
    return {"images": list(images.values())}


def _write(project, plan, files: StoredFiles, report: ImportReport, user, replace: bool) -> None:
    classes = class_map(project)
    for image in plan["images"]:
        pano = image["panorama"]
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
                color=cat.get("color", "#ff0000")
                if isinstance(cat.get("color"), str)
                else "#ff0000",
            )
            instances.append(
                Instance(
                    label_class=cls,
                    geometry=inst["geometry"],
                    source="import",
                    score=inst["score"] if isinstance(inst["score"], int | float) else None,
                    order=order,
                    attributes=inst["attributes"],
                    created_by=user if user is not None and user.is_authenticated else None,
                    updated_by=user if user is not None and user.is_authenticated else None,
                )
            )
        replace_panorama_instances(pano, instances, replace)
        report.instances_created += len(instances)


__all__ = ["import_coco"]
