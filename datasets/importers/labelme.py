"""Import of LabelMe JSON drawn on equirect images.

LabelMe edges are straight lines in PIXEL space, which are not great circles: each shape is
converted faithfully by densifying its pixel-space segments (a vertex at most every 2 px)
before mapping to (lon, lat). LabelMe point coordinates are taken as continuous image
coordinates (the left edge of column 0 is x = 0), i.e. ``u = x``, ``v = y``. Supported shapes:
``polygon`` and ``rectangle``; others (line, point, circle, ...) are skipped and reported.

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

from annotations.models import Instance, Project

from .common import (
    ImportReport,
    StoredFiles,
    check_geometry,
    class_map,
    ensure_class,
    find_panorama,
    replace_panorama_instances,
    run_atomically,
)
from .pixels import densified_ring


def _documents(path: str, report: ImportReport) -> list[tuple[str, dict, bytes | None]]:
    """(name, LabelMe document, image bytes or None) for every JSON in the input."""
    docs = []
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            for name in sorted(n for n in names if n.endswith(".json")):
                try:
                    doc = json.loads(archive.read(name))
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    report.skip(name, f"not valid JSON: {exc}")
                    continue
                image = None
                if isinstance(doc, dict) and isinstance(doc.get("imagePath"), str):
                    candidate = os.path.normpath(
                        os.path.join(os.path.dirname(name), doc["imagePath"])
                    ).replace("\\", "/")
                    if candidate in names:
                        image = archive.read(candidate)
                docs.append((name, doc, image))
        if not docs and not report.skipped:
            report.error = "the archive holds no LabelMe JSON"
        return docs
    try:
        with open(path, "rb") as handle:
            docs.append((os.path.basename(path), json.load(handle), None))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        report.error = f"not valid JSON: {exc}"
    return docs


def import_labelme(
    project: Project,
    path: str,
    user=None,
    replace: bool = False,
    strict: bool = False,
    create_classes: bool = True,
    step_px: float = 2.0,
) -> ImportReport:
    report = ImportReport(format="labelme")
    docs = _documents(path, report)
    if report.error:
        return report
    existing = class_map(project)
    plan = []
    for name, doc, image in docs:
        if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
            report.skip(name, "not a LabelMe file (no 'shapes' list)")
            continue
        width, height = doc.get("imageWidth"), doc.get("imageHeight")
        if not isinstance(width, int) or not isinstance(height, int) or width != 2 * height:
            report.skip(name, "equirect images need integer imageWidth = 2 × imageHeight")
            continue
        if image is None and doc.get("imageData"):
            try:
                image = base64.b64decode(doc["imageData"])
            except (binascii.Error, ValueError):
                report.skip(name, "imageData is not valid base64")
                continue
        sha = hashlib.sha256(image).hexdigest() if image else None
        pano = find_panorama(project, sha, doc.get("imagePath"))
        if pano is None and image is None:
            report.skip(name, "no matching panorama (by imagePath) and no image data")
            continue
        if pano is not None and (pano.width, pano.height) != (width, height):
            report.skip(name, f"size {width}×{height} differs from the panorama's")
            continue
        shapes = []
        for k, shape in enumerate(doc["shapes"]):
            where = f"{name} shapes[{k}]"
            label = shape.get("label") if isinstance(shape, dict) else None
            if not isinstance(label, str) or not label:
                report.skip(where, "a shape needs a label")
                continue
            if label not in existing and not create_classes:
                report.skip(where, f"no class named {label!r} in the project")
                continue
            kind = shape.get("shape_type") or "polygon"
            try:
                points = [(float(x), float(y)) for x, y in shape.get("points") or []]
            except (TypeError, ValueError):
                report.skip(where, "points must be [x, y] pairs")
                continue
            if kind == "rectangle" and len(points) == 2:
                (x0, y0), (x1, y1) = points
                points = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
            elif kind != "polygon":
                report.skip(where, f"shape_type {kind!r} is not an area (polygon/rectangle only)")
                continue
            if len(points) < 3:
                report.skip(where, "a polygon needs at least 3 points")
                continue
            ring = densified_ring(points, width, height, step_px)
            geometry, problem = check_geometry([[ring]])
            if problem:
                report.skip(where, f"invalid after conversion: {problem}")
                continue
            shapes.append(
                {
                    "class": label,
                    "geometry": geometry,
                    "attributes": {
                        k: shape[k] for k in ("group_id", "description", "flags") if shape.get(k)
                    },
                }
            )
        plan.append(
            {
                "name": os.path.basename(doc.get("imagePath") or name),
                "panorama": pano,
                "image": image,
                "shapes": shapes,
            }
        )
    files = StoredFiles()
    return run_atomically(
        report, strict, files, lambda: _write(project, plan, files, report, user, replace)
    )


def _write(project, plan, files: StoredFiles, report: ImportReport, user, replace: bool) -> None:
    classes = class_map(project)
    author = user if user is not None and user.is_authenticated else None
    for item in plan:
        pano = item["panorama"]
        if pano is None:
            pano = files.store(project, item["name"], item["image"], user)
            report.panoramas_created += 1
        else:
            report.panoramas_updated += 1
        instances = [
            Instance(
                label_class=ensure_class(project, classes, s["class"], report, True),
                geometry=s["geometry"],
                source="import",
                order=k,
                attributes=s["attributes"],
                created_by=author,
                updated_by=author,
            )
            for k, s in enumerate(item["shapes"])
        ]
        replace_panorama_instances(pano, instances, replace)
        report.instances_created += len(instances)
