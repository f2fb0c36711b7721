"""Format details researchers rely on: stable category / class ids across filtered exports,
label PNGs beyond 999 instances of a class, HDR panoramas as 8-bit images (tone-mapped as
the workspace shows them), view exports without zero-area annotations and with their
rotation matrices written out in full."""

from __future__ import annotations

import io
import json
import zipfile

import cv2
import numpy as np
import pytest
from PIL import Image

from annotations.imaging import load_pixels, tonemap_to_uint8
from annotations.models import Instance, LabelClass
from annotations.uploads import store_panorama
from datasets import geom
from label360.sphere.views import View
from tests.factories import make_panorama

from .helpers import HOLED, SEAM, SQUARE, export, label, read_json

pytestmark = pytest.mark.django_db


def _categories(path) -> dict[str, int]:
    data = read_json(path, "annotations/instances.json")
    return {c["name"]: c["id"] for c in data["categories"]}


def test_category_ids_are_the_class_ids_in_every_filtered_export(project, tmp_path):
    pano = make_panorama(project, seed=1, width=128)
    label(pano, [SQUARE, HOLED])
    car = LabelClass.objects.get(project=project, name="car")
    building = LabelClass.objects.get(project=project, name="building")
    full = tmp_path / "full"
    only = tmp_path / "only"
    full.mkdir(), only.mkdir()
    everything = _categories(export(project, full, format="coco"))
    buildings = _categories(export(project, only, format="coco", classes=[building.pk]))
    assert everything == {"car": car.pk, "building": building.pk}
    assert buildings == {"building": building.pk}
    data = read_json(
        export(project, only, format="coco", classes=[building.pk]), "annotations/instances.json"
    )
    assert {a["category_id"] for a in data["annotations"]} == {building.pk}
    views = read_json(
        export(project, only, format="coco_views", classes=[building.pk], face_size=32),
        "annotations/instances.json",
    )
    assert {c["id"] for c in views["categories"]} == {building.pk}
    assert {a["category_id"] for a in views["annotations"]} == {building.pk}


def _png(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(archive.read(name), np.uint8), cv2.IMREAD_UNCHANGED)


def test_label_png_class_ids_do_not_depend_on_the_class_filter(project, tmp_path):
    pano = make_panorama(project, seed=6, width=128)
    label(pano, [SQUARE, HOLED])  # car (class number 1), building (2)
    building = LabelClass.objects.get(project=project, name="building")
    with zipfile.ZipFile(export(project, tmp_path, format="png", classes=[building.pk])) as zf:
        stem = next(n for n in zf.namelist() if n.startswith("semantic/")).split("/", 1)[1]
        semantic = _png(zf, "semantic/" + stem)
        instance = _png(zf, "instance/" + stem)
        legend = json.loads(zf.read("legend.json"))
    holed = geom.rasterize(HOLED, 128, 64)
    assert np.array_equal(semantic == 2, holed) and set(np.unique(semantic)) == {0, 2}
    assert np.array_equal(instance == 2001, holed)
    entry = next(e for e in legend if e["name"] == "building")
    assert (entry["id"], entry["train_id"], entry["label360_class_id"]) == (2, 0, building.pk)


def test_label_pngs_beyond_999_instances_of_a_class(project, tmp_path):
    """Cityscapes ids stop at 999 instances of a class (a clear 400 at request time);
    ``png_ids='sequential'`` numbers every instance of the panorama with a JSON index."""
    from datasets.selection import ExportOptions, OptionsError, check_feasible

    pano = make_panorama(project, seed=7, width=256)
    car = LabelClass.objects.get(project=project, name="car")
    squares = []
    for k in range(1001):  # a grid of small squares, each covering a few pixel centres
        lon, lat = -170 + (k % 40) * 8.5, -60 + (k // 40) * 4.6
        squares.append([[[[lon, lat], [lon + 3, lat], [lon + 3, lat + 3], [lon, lat + 3]]]])
    Instance.objects.bulk_create(
        Instance(panorama=pano, label_class=car, geometry=g, order=k) for k, g in enumerate(squares)
    )
    with pytest.raises(OptionsError, match="png_ids='sequential'"):
        check_feasible(project, ExportOptions.from_dict({"format": "png"}))
    path = export(project, tmp_path, format="png", png_ids="sequential")
    with zipfile.ZipFile(path) as zf:
        stem = next(n for n in zf.namelist() if n.startswith("semantic/")).split("/", 1)[1]
        instance = _png(zf, "instance/" + stem)
        index = json.loads(zf.read("instance/" + stem[:-4] + ".json"))
    ids = list(Instance.objects.filter(panorama=pano).order_by("order", "id"))
    assert len(index) == 1001 and index["1001"]["instance_id"] == ids[1000].pk
    assert index["1001"]["name"] == "car" and index["1001"]["class_id"] == 1
    assert instance.dtype == np.uint16 and instance.max() == 1001
    assert np.array_equal(instance == 1001, geom.rasterize(squares[1000], 256, 128))


def _hdr_panorama(project):
    rng = np.random.default_rng(0)
    radiance = (rng.random((64, 128, 3)) ** 4 * 50).astype(np.float32)
    ok, data = cv2.imencode(".hdr", radiance[:, :, ::-1])
    assert ok
    return store_panorama(project, "sky.hdr", data.tobytes())


def test_hdr_panoramas_are_also_8bit_images_tonemapped_like_the_workspace(project, tmp_path):
    pano = _hdr_panorama(project)
    assert pano.is_hdr
    label(pano, [SQUARE])
    path = export(project, tmp_path, format="coco", include_images=True)
    data = read_json(path, "annotations/instances.json")
    (image,) = data["images"]
    assert image["file_name"].endswith("_8bit.png")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert image["label360"]["original_file"] in names  # the radiance file too
        with Image.open(io.BytesIO(zf.read(image["file_name"]))) as opened:
            assert opened.mode == "RGB" and opened.size == (128, 64)
            pixels = np.asarray(opened)
    assert np.array_equal(pixels, tonemap_to_uint8(load_pixels(pano)))
    views = export(
        project, tmp_path, format="coco_views", include_images=True, face_size=32, face_fov=90
    )
    with zipfile.ZipFile(views) as zf:
        face = next(n for n in zf.namelist() if n.endswith("_F.jpg"))
        front = np.asarray(Image.open(io.BytesIO(zf.read(face))).convert("RGB")).astype(int)
    # the front face looks at the middle of the tone-mapped panorama (JPEG: within noise)
    expected = tonemap_to_uint8(load_pixels(pano))[24:40, 56:72].astype(int).mean(axis=(0, 1))
    assert np.abs(front[8:24, 8:24].mean(axis=(0, 1)) - expected).max() < 25


def test_view_exports_drop_zero_area_annotations_and_write_rotations(project, tmp_path):
    pano = make_panorama(project, seed=4, width=128)
    # a sliver in the front face between two pixel rows: visible, but no pixel centre inside
    sliver = [[[[-20.0, 0.2], [20.0, 0.2], [20.0, 0.6], [-20.0, 0.6]]]]
    label(pano, [sliver, SQUARE])
    views = [
        {"yaw": 0, "pitch": 0, "roll": 0, "hfov": 90, "width": 64, "height": 64},
        {"yaw": 30, "pitch": 20, "roll": 15, "hfov": 80, "width": 64, "height": 48},
    ]
    front = View(0, 0, 0, 90, 64, 64)
    assert geom.sphere().geometry_to_view(sliver, front)  # it does project into the view
    data = read_json(
        export(project, tmp_path, format="coco_views", views="list", view_list=views),
        "annotations/instances.json",
    )
    sliver_id = Instance.objects.get(panorama=pano, order=0).pk
    assert all(a["area"] > 0 for a in data["annotations"])
    in_front = [a for a in data["annotations"] if a["image_id"] == data["images"][0]["id"]]
    assert sliver_id not in {a["label360"]["instance_id"] for a in in_front}
    for image in data["images"]:
        view = View(**image["view"])
        rotation = np.array(image["rotation"])
        assert rotation.shape == (3, 3)
        assert np.allclose(rotation, view.rotation(), atol=0, rtol=0)
        # the centre ray goes where (yaw, pitch) point
        direction = rotation @ np.array([0.0, 0.0, 1.0])
        yaw, pitch = np.radians(image["view"]["yaw"]), np.radians(image["view"]["pitch"])
        expected = [np.cos(pitch) * np.sin(yaw), np.sin(pitch), np.cos(pitch) * np.cos(yaw)]
        assert np.allclose(direction, expected)
    factors = data["info"]["rotation_matrices"]
    assert factors["Rz(a)"] == [["c", "s", "0"], ["-s", "c", "0"], ["0", "0", "1"]]


def test_seam_objects_are_counted_in_the_summary(project, tmp_path):
    from datasets.exporters.run import write_export
    from datasets.selection import ExportOptions

    pano = make_panorama(project, seed=2, width=128)
    label(pano, [SEAM, SQUARE])
    summary = write_export(project, ExportOptions.from_dict({}), tmp_path / "x.zip")
    assert summary["seam_crossing"] == 1 and "seam_split" not in summary
