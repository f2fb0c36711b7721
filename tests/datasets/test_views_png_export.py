"""COCO on views (exact projected polygons, view parameters) and label PNG exports."""

from __future__ import annotations

import zipfile

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from datasets import geom
from label360.sphere.vectors import arc_points, lonlat_to_vec
from label360.sphere.views import View
from tests.factories import make_panorama

from .helpers import CAP, HOLED, SEAM, SQUARE, export, label, read_json

pytestmark = pytest.mark.django_db


def _projected_outline(geometry: list, view: View) -> np.ndarray:
    """Densely sampled great-circle outline of every ring, projected into the view."""
    points = []
    for polygon in geometry:
        for ring in polygon:
            for k in range(len(ring)):
                a = lonlat_to_vec(*ring[k])
                b = lonlat_to_vec(*ring[(k + 1) % len(ring)])
                v = arc_points(a, b, 400)
                cam = v @ view.rotation()
                v = v[cam[:, 2] > 1e-3]
                if len(v):
                    x, y = view.vec_to_pixel(v)
                    points.append(np.stack([x, y], 1))
    return np.concatenate(points) + 0.5  # COCO coordinates


def test_view_export_polygons_follow_projected_outlines(project, tmp_path):
    pano = make_panorama(project, seed=4, width=128)
    geometries = [SEAM, CAP, HOLED, SQUARE]
    label(pano, geometries)
    path = export(
        project, tmp_path, format="coco_views", face_size=64, face_fov=100, include_images=True
    )
    with zipfile.ZipFile(path) as archive:
        archive.extract("annotations/instances.json", tmp_path)
        names = archive.namelist()
    coco = COCO(str(tmp_path / "annotations/instances.json"))
    images = coco.loadImgs(coco.getImgIds())
    assert [i["view_name"] for i in images] == ["F", "R", "B", "L", "U", "D"]
    assert all(i["file_name"] in names for i in images)
    checked = 0
    for ann in coco.loadAnns(coco.getAnnIds()):
        image = coco.imgs[ann["image_id"]]
        view = View(**image["view"])
        geometry = geometries[
            [a for a in range(4)][
                ann["label360"]["instance_id"]
                - min(a["label360"]["instance_id"] for a in coco.anns.values())
            ]
        ]
        outline = _projected_outline(geometry, view)
        mask = coco.annToMask(ann)
        assert mask.shape == (64, 64)
        for polygon in ann["label360_polygons"]:
            for ring in polygon:
                for x, y in ring:
                    on_border = min(x, y) < 1e-6 or max(x, y) > 64 - 1e-6
                    if on_border:
                        continue
                    d = np.hypot(outline[:, 0] - x, outline[:, 1] - y).min()
                    assert d <= 0.5, (ann["id"], x, y, d)
                    checked += 1
    assert checked > 20


def test_nfov_view_list(project, tmp_path):
    pano = make_panorama(project, seed=5, width=128)
    label(pano, [SQUARE])
    views = [{"yaw": 30, "pitch": 5, "roll": 10, "hfov": 60, "width": 80, "height": 60}]
    data = read_json(
        export(project, tmp_path, format="coco_views", views="list", view_list=views),
        "annotations/instances.json",
    )
    assert data["images"][0]["view"] == {
        "yaw": 30.0,
        "pitch": 5.0,
        "roll": 10.0,
        "hfov": 60.0,
        "width": 80,
        "height": 60,
    }
    assert len(data["annotations"]) == 1 and data["annotations"][0]["area"] > 100


def test_label_pngs(project, tmp_path):
    pano = make_panorama(project, seed=6, width=128)
    label(pano, [SQUARE, HOLED, SEAM])  # car, building, car
    path = export(project, tmp_path, format="png")
    with zipfile.ZipFile(path) as archive:
        stem = [n for n in archive.namelist() if n.startswith("semantic/")][0].split("/", 1)[1]
        semantic = cv2.imdecode(
            np.frombuffer(archive.read("semantic/" + stem), np.uint8), cv2.IMREAD_UNCHANGED
        )
        instance = cv2.imdecode(
            np.frombuffer(archive.read("instance/" + stem), np.uint8), cv2.IMREAD_UNCHANGED
        )
        legend = archive.read("legend.csv").decode()
    assert "car" in legend and semantic.dtype == np.uint8 and instance.dtype == np.uint16
    assert np.array_equal(
        semantic == 1, geom.rasterize(SQUARE, 128, 64) | geom.rasterize(SEAM, 128, 64)
    )
    assert np.array_equal(instance == 1001, geom.rasterize(SQUARE, 128, 64))
    assert np.array_equal(instance == 1002, geom.rasterize(SEAM, 128, 64))
    assert np.array_equal(instance == 2001, geom.rasterize(HOLED, 128, 64))
