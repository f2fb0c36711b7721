"""Import of LabelMe JSON drawn on equirect images.

LabelMe points are continuous image coordinates (the left edge of column 0 is x = 0), checked
(finite, inside the image ± a small margin) before anything else uses them. Edges are straight
lines in PIXEL space, which are not great circles: ``polygon`` and ``rectangle`` shapes are
converted vertex by vertex, with an edge split only where its great circle strays more than
``tolerance_px`` from the pixel line (:mod:`datasets.importers.pixels`). A ``circle`` becomes
the small circle on the sphere through its edge point; a ``mask`` (a PNG of a box) is traced.
Shapes labelled ``__ignore__`` go to an ignore-class of that name. Shapes without an area
(line, point, ...) are skipped and reported.

Input: one LabelMe ``.json`` file, or a ``.zip`` of several (with their images, optional).
The image is matched by the sha256 of ``imageData``/the image file when present, else by
``imagePath`` file name against the panoramas' ``original_name``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import zipfile

import numpy as np
from django.conf import settings

from annotations.models import Instance, Project

from .common import (
    ImportReport,
    StoredFiles,
    all_skipped,
    check_geometry,
    class_map,
    class_name_problem,
    ensure_class,
    find_panorama,
    import_limit,
    locked_reason,
    replace_panorama_instances,
    run_atomically,
)
from .pixels import (
    ShapeError,
    check_points,
    runs_geometry,
    segmentation_geometry,
    small_circle,
)

#: LabelMe files read from one archive.
MAX_DOCUMENTS = 100_000


def _documents(path: str, report: ImportReport) -> list[tuple[str, object, bytes | None]]:
    """(name, LabelMe document, image bytes or None) for every JSON in the input; archive
    members are bounded before they are read."""
    docs: list[tuple[str, object, bytes | None]] = []
    if zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            report.error = f"not a readable zip archive: {exc}"
            return docs
        with archive:
            infos = {i.filename: i for i in archive.infolist()}
            names = sorted(n for n in infos if n.endswith(".json"))
            if len(names) > MAX_DOCUMENTS:
                report.error = f"the archive holds {len(names)} JSON files; at most {MAX_DOCUMENTS}"
                return docs
            limit = import_limit()
            for name in names:
                if infos[name].file_size > limit:
                    report.skip(name, f"{infos[name].file_size} bytes; at most {limit}")
                    continue
                try:
                    doc = json.loads(archive.read(name))
                except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
                    report.skip(name, f"not valid JSON: {exc}")
                    continue
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    report.skip(name, f"cannot be read from the archive: {exc}")
                    continue
                image = None
                if isinstance(doc, dict) and isinstance(doc.get("imagePath"), str):
                    candidate = os.path.normpath(
                        os.path.join(os.path.dirname(name), doc["imagePath"])
                    ).replace("\\", "/")
                    info = infos.get(candidate)
                    if info is not None and info.file_size <= limit:
                        try:
                            image = archive.read(info)
                        except (zipfile.BadZipFile, OSError, EOFError):
                            image = None
                docs.append((name, doc, image))
        if not docs and not report.skipped:
            report.error = "the archive holds no LabelMe JSON"
        return docs
    try:
        with open(path, "rb") as handle:
            docs.append((os.path.basename(path), json.load(handle), None))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        report.error = f"not valid JSON: {exc}"
    return docs


def import_labelme(
    project: Project,
    path: str,
    user=None,
    replace: bool = True,
    strict: bool = False,
    create_classes: bool = True,
    tolerance_px: float = 0.5,
    tolerance_deg: float = 0.05,
    report: ImportReport | None = None,
) -> ImportReport:
    report = report or ImportReport(format="labelme")
    docs = _documents(path, report)
    if report.error:
        return report
    existing = class_map(project)
    plan = []
    for d, (name, doc, image) in enumerate(docs):
        report.tick(d + 1, len(docs), "files")
        if isinstance(doc, list):
            report.skip(name, "not a LabelMe file: the top level is a list, not an object")
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
            report.skip(name, "not a LabelMe file (no 'shapes' list)")
            continue
        width, height = doc.get("imageWidth"), doc.get("imageHeight")
        max_w = int(getattr(settings, "LABEL360_MAX_PANORAMA_WIDTH", 16384))
        if (
            not isinstance(width, int)
            or not isinstance(height, int)
            or isinstance(width, bool)
            or width != 2 * height
            or not 2 <= width <= max_w
        ):
            report.skip(
                name, f"equirect images need integer imageWidth = 2 × imageHeight ≤ {max_w}"
            )
            continue
        if image is None and isinstance(doc.get("imageData"), str) and doc["imageData"]:
            try:
                image = base64.b64decode(doc["imageData"], validate=True)
            except (binascii.Error, ValueError):
                report.skip(name, "imageData is not valid base64")
                continue
        sha = hashlib.sha256(image).hexdigest() if image else None
        image_path = doc.get("imagePath") if isinstance(doc.get("imagePath"), str) else None
        pano = find_panorama(project, sha, image_path)
        if pano is None and image is None:
            report.skip(name, "no matching panorama (by imagePath) and no image data")
            continue
        locked = locked_reason(pano)
        if locked:
            report.skip(name, locked)
            continue
        if pano is not None and (pano.width, pano.height) != (width, height):
            report.skip(name, f"size {width}×{height} differs from the panorama's")
            continue
        shapes = []
        skipped_before = len(report.skipped)
        for k, shape in enumerate(doc["shapes"]):
            where = f"{name} shapes[{k}]"
            converted = _shape(
                shape,
                where,
                width,
                height,
                existing,
                create_classes,
                report,
                tolerance_px,
                tolerance_deg,
            )
            if converted is not None:
                shapes.append(converted)
        plan.append(
            {
                "name": os.path.basename(image_path or name),
                "panorama": pano,
                "image": image,
                "shapes": shapes,
                "skipped": len(report.skipped) - skipped_before,
                "where": name,
            }
        )
    files = StoredFiles()
    return run_atomically(
        report, strict, files, lambda: _write(project, plan, files, report, user, replace)
    )


#: LabelMe's label for regions to ignore; imported into an ignore-class of that name.
IGNORE_LABEL = "__ignore__"
AREA_SHAPES = ("polygon", "rectangle", "circle", "mask")


def _shape(shape, where, width, height, existing, create_classes, report, tol_px, tol_deg):
    """The converted shape {class, geometry, attributes, ignore}, or None (skipped)."""
    if not isinstance(shape, dict):
        report.skip(where, "a shape must be an object")
        return None
    label = shape.get("label")
    problem = class_name_problem(label)
    if problem:
        report.skip(where, f"a shape needs a label ({problem})")
        return None
    if label not in existing and not create_classes:
        report.skip(where, f"no class named {label!r} in the project")
        return None
    kind = shape.get("shape_type") or "polygon"
    if kind not in AREA_SHAPES:
        report.skip(where, f"shape_type {kind!r} has no area (imported: {', '.join(AREA_SHAPES)})")
        return None
    try:
        points = check_points(shape.get("points") or [], width, height)
        geometry = _shape_geometry(kind, shape, points, width, height, tol_px, tol_deg, report)
    except ShapeError as exc:
        report.skip(where, f"{kind}: {exc}")
        return None
    if not geometry:
        report.skip(where, f"{kind}: nothing with an area is left after conversion")
        return None
    geometry, problem = check_geometry(geometry)
    if problem:
        report.skip(where, f"{kind}: invalid after conversion: {problem}")
        return None
    attributes = {}
    for key in ("group_id", "description", "flags"):
        value = shape.get(key)
        if value not in (None, "", {}) and isinstance(value, int | str | dict):
            attributes[key] = value
    return {
        "class": label,
        "geometry": geometry,
        "attributes": attributes,
        "ignore": label == IGNORE_LABEL,
    }


def _shape_geometry(kind, shape, points, width, height, tol_px, tol_deg, report) -> list | None:
    if kind == "rectangle":
        if len(points) != 2:
            raise ShapeError(f"a rectangle needs 2 corner points, got {len(points)}")
        (x0, y0), (x1, y1) = points
        points = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        if abs(x1 - x0) < 1e-6 or abs(y1 - y0) < 1e-6:
            raise ShapeError("the rectangle has no area (its corners share a row or column)")
    if kind in ("polygon", "rectangle"):
        if len(points) < 3:
            raise ShapeError(f"a polygon needs at least 3 points, got {len(points)}")
        geometry, how = segmentation_geometry(
            [points.ravel().tolist()], width, height, tol_px, tol_deg
        )
        report.count(how)
        return geometry
    if kind == "circle":
        if len(points) != 2:
            raise ShapeError(
                f"a circle needs its centre and a point on it, got {len(points)} points"
            )
        report.count("circle")
        return small_circle(points[:1], points[1:], width, height, tol_px)
    # mask: a PNG of the box whose top-left corner is the first point
    if len(points) < 1 or not isinstance(shape.get("mask"), str):
        raise ShapeError("a mask shape needs points and a base64 PNG 'mask'")
    runs = _mask_runs(shape["mask"], points[0], width, height)
    report.count("mask")
    return runs_geometry(runs, width, height, tol_deg)


def _mask_runs(data: str, corner, width: int, height: int):
    """Runs of a LabelMe mask (a PNG placed with its top-left pixel at ``corner``): the PNG
    header is read and bounded before the image is decoded."""
    import cv2

    from ..rle import Runs, mask_to_runs

    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ShapeError("mask is not valid base64") from exc
    if len(raw) < 24 or raw[:8] != b"\x89PNG\r\n\x1a\n" or raw[12:16] != b"IHDR":
        raise ShapeError("mask is not a PNG image")
    mw, mh = int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    x0, y0 = int(corner[0]), int(corner[1])
    if mw < 1 or mh < 1 or x0 + mw > width or y0 + mh > height:
        raise ShapeError(
            f"a {mw}×{mh} mask at ({x0}, {y0}) does not fit the {width}×{height} image"
        )
    mask = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_GRAYSCALE)
    if mask is None or mask.shape != (mh, mw):
        raise ShapeError("mask PNG cannot be decoded")
    runs = mask_to_runs(mask > 0)
    return Runs(runs.cols + x0, runs.starts + y0, runs.ends + y0)


def _write(project, plan, files: StoredFiles, report: ImportReport, user, replace: bool) -> None:
    classes = class_map(project)
    author = user if user is not None and user.is_authenticated else None
    for item in plan:
        report.check_cancelled()
        pano = item["panorama"]
        if all_skipped(report, item["where"], item["skipped"], len(item["shapes"])):
            continue
        if pano is None:
            pano = files.store(project, item["name"], item["image"], user)
            report.panoramas_created += 1
        else:
            report.panoramas_updated += 1
        instances = [
            Instance(
                label_class=ensure_class(
                    project,
                    classes,
                    s["class"],
                    report,
                    True,
                    **({"is_ignore": True} if s["ignore"] else {}),
                ),
                geometry=s["geometry"],
                source="import",
                order=k,
                attributes=s["attributes"],
                created_by=author,
                updated_by=author,
            )
            for k, s in enumerate(item["shapes"])
        ]
        replace_panorama_instances(pano, instances, replace, report)
        report.instances_created += len(instances)
