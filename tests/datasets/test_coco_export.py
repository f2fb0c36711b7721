"""COCO exports on equirect images: pycocotools loads them, masks equal the rasteriser's."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from annotations.models import LabelClass
from datasets import geom
from datasets.rle import Runs, mask_to_runs, runs_bbox, runs_bbox_wrapped, runs_to_rle
from tests.factories import make_panorama

from .helpers import CAP, HOLED, SEAM, SQUARE, export, label, read_json

pytestmark = pytest.mark.django_db


def test_rle_from_runs_equals_pycocotools_encode():
    rng = np.random.default_rng(0)
    mask = rng.random((31, 64)) > 0.6
    mask[:, 5] = True  # a full column merges with its neighbours' runs
    mask[-1, -1] = True  # the last pixel set: no trailing zero count
    ours = runs_to_rle(mask_to_runs(mask), 31, 64)
    ref = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert ours["counts"] == ref["counts"].decode()
    assert runs_bbox(mask_to_runs(mask)) == mask_utils.toBbox(ref).astype(int).tolist()


def test_bbox_wrapped_crosses_the_seam():
    mask = np.zeros((10, 40), bool)
    mask[2:5, 37:] = True
    mask[3:6, :3] = True
    runs = mask_to_runs(mask)
    assert runs_bbox(runs) == [0, 2, 40, 4]
    assert runs_bbox_wrapped(runs, 40) == [37, 2, 6, 4]
    # the box does not depend on the runs being in column order
    order = np.random.default_rng(0).permutation(runs.cols.size)
    shuffled = Runs(runs.cols[order], runs.starts[order], runs.ends[order])
    assert runs_bbox_wrapped(shuffled, 40) == [37, 2, 6, 4]


def test_coco_export_loads_and_masks_equal_rasteriser(project, users, tmp_path):
    pano = make_panorama(project, seed=3, width=256)
    LabelClass.objects.filter(project=project, name="building").update(is_ignore=True)
    label(pano, [SEAM, CAP, HOLED, SQUARE], users["manager"])
    path = export(project, tmp_path, format="coco")
    with zipfile.ZipFile(path) as archive:
        archive.extract("annotations/instances.json", tmp_path)
    coco = COCO(str(tmp_path / "annotations/instances.json"))
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[pano.pk]))
    assert len(anns) == 4
    for ann, geometry in zip(anns, [SEAM, CAP, HOLED, SQUARE], strict=True):
        decoded = coco.annToMask(ann).astype(bool)
        assert np.array_equal(decoded, geom.rasterize(geometry, 256, 128))
        assert ann["area"] == int(decoded.sum())
        assert ann["area_sr"] == pytest.approx(geom.area(geometry), rel=1e-12)
        assert (
            ann["bbox"]
            == mask_utils.toBbox(
                ann["segmentation"] | {"counts": ann["segmentation"]["counts"].encode()}
            ).tolist()
        )
    seam = anns[0]
    assert seam["bbox"][2] == 256  # plain COCO box spans the width
    x, _, w, _ = seam["bbox_wrapped"]
    assert x > 128 and x + w > 256 and w < 40
    assert [a["iscrowd"] for a in anns] == [0, 1, 0, 1]  # building is an ignore class
    omitted = read_json(
        export(project, tmp_path, format="coco", ignore="omit"), "annotations/instances.json"
    )
    assert len(omitted["annotations"]) == 2


def test_coco_export_filters_and_images(project, tmp_path):
    a = make_panorama(project, seed=1, width=64)
    b = make_panorama(project, seed=2, width=64)
    label(a, [SQUARE])
    label(b, [SQUARE, SEAM])
    b.status = "approved"
    b.save()
    car = LabelClass.objects.get(project=project, name="car")
    path = export(
        project,
        tmp_path,
        format="coco",
        statuses=["approved"],
        classes=[car.pk],
        include_images=True,
    )
    data = read_json(path, "annotations/instances.json")
    assert [i["id"] for i in data["images"]] == [b.pk]
    assert [c["name"] for c in data["categories"]] == ["car"]
    assert len(data["annotations"]) == 1
    with zipfile.ZipFile(path) as archive:
        assert data["images"][0]["file_name"] in archive.namelist()


def test_synthetic_coco_areas_match_exact_spherical_areas(project, tmp_path):
    from annotations.uploads import store_panorama
    from label360.synthetic import render

    r = render("street", seed=2, width=256)
    import cv2

    ok, data = cv2.imencode(".png", r.rgb[..., ::-1])
    pano = store_panorama(project, "synthetic.png", data.tobytes())
    visible = [a for a in r.annotations if a["visible"]]
    assert visible
    label(pano, [a["geometry"] for a in visible])
    coco = read_json(export(project, tmp_path, format="coco"), "annotations/instances.json")
    by_instance = {a["label360"]["instance_id"]: a for a in coco["annotations"]}
    from annotations.models import Instance

    checked = 0
    for inst, gt in zip(
        Instance.objects.filter(panorama=pano).order_by("order"), visible, strict=True
    ):
        ann = by_instance.get(inst.pk)
        if ann is None:  # too small to cover a pixel centre at this size
            assert not geom.rasterize(gt["geometry"], 256, 128).any()
            continue
        assert ann["area_sr"] == pytest.approx(gt["area_sr"], rel=1e-9, abs=1e-12)
        checked += 1
    assert checked >= 3
