"""Label360 JSON round trip (lossless), COCO/LabelMe imports, bad files, no half imports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from annotations.models import Instance, LabelClass, Panorama, ReviewEvent
from datasets import geom
from datasets.importers import common
from datasets.importers.run import run_import
from tests.factories import make_panorama, make_project

from .helpers import CAP, HOLED, SEAM, SQUARE, export, label, read_json

pytestmark = pytest.mark.django_db


def _comparable(data: dict) -> list:
    out = []
    for p in data["panoramas"]:
        out.append(
            {
                **{
                    k: p[k]
                    for k in (
                        "original_name",
                        "sha256",
                        "width",
                        "height",
                        "status",
                        "metadata",
                        "pose",
                        "assignees",
                    )
                },
                "instances": [{k: v for k, v in i.items() if k != "id"} for i in p["instances"]],
                "events": p["events"],
            }
        )
    return out


def test_label360_round_trip_is_lossless(project, users, tmp_path):
    a = make_panorama(project, seed=1, width=64)
    b = make_panorama(project, seed=2, width=64)
    a.assignees.add(users["annotator"])
    label(a, [SEAM, HOLED], users["annotator"])
    label(
        b,
        [CAP, SQUARE],
        users["manager"],
        source="model",
        score=0.875,
        model_version="m-1.2",
        attributes={"occluded": True},
    )
    Instance.objects.filter(panorama=b).update(is_suggestion=True)
    ReviewEvent.objects.create(
        panorama=a, user=users["reviewer"], action="approve", comment="ok", revision=3
    )
    Panorama.objects.filter(pk=a.pk).update(status="approved")
    LabelClass.objects.create(project=project, name="sign", color="#00ff00", order=5, is_group=True)
    first = export(
        project, tmp_path, format="label360", include_images=True, include_suggestions=True
    )
    target = make_project("Copy")
    report = run_import(target, "label360", str(first), users["admin"])
    assert report.committed, report
    assert report.skipped == [] and report.panoramas_created == 2 and report.instances_created == 4
    again = tmp_path / "again"
    again.mkdir()
    second = export(target, again, format="label360", include_images=True, include_suggestions=True)
    d1, d2 = read_json(first, "label360.json"), read_json(second, "label360.json")
    assert _comparable(d1) == _comparable(d2)
    strip = lambda cs: [{k: v for k, v in c.items() if k != "id"} for c in cs]  # noqa: E731
    assert strip(d1["classes"]) == strip(d2["classes"])


def _label360_file(tmp_path, project, bad_geometry=True):
    pano = make_panorama(project, seed=5, width=64)
    label(pano, [SQUARE, SEAM])
    path = export(project, tmp_path, format="label360")
    data = read_json(path, "label360.json")
    if bad_geometry:
        data["panoramas"][0]["instances"][1]["geometry"] = [[[[0, 0], [0, 0], [1, 1]]]]
        data["panoramas"][0]["instances"].append({"class": "nope", "geometry": SQUARE})
    out = tmp_path / "edited.json"
    out.write_text(json.dumps(data))
    return pano, out


def test_bad_items_are_reported_and_strict_imports_nothing(project, tmp_path):
    pano, path = _label360_file(tmp_path, project)
    Instance.objects.filter(panorama=pano).delete()
    strict = run_import(project, "label360", str(path), strict=True, create_classes=False)
    assert not strict.committed and "strict" in strict.error
    assert Instance.objects.filter(panorama=pano).count() == 0
    report = run_import(project, "label360", str(path), create_classes=False)
    assert report.committed
    reasons = " | ".join(s["reason"] for s in report.skipped)
    assert len(report.skipped) == 2 and "invalid geometry" in reasons and "unknown class" in reasons
    assert Instance.objects.filter(panorama=pano).count() == 1


def test_unreadable_files_import_nothing(project, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    for fmt in ("label360", "coco", "labelme"):
        report = run_import(project, fmt, str(broken))
        assert not report.committed and report.error
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something"}))
    assert "not a Label360" in run_import(project, "label360", str(other)).error


def test_failure_while_writing_rolls_everything_back(project, tmp_path, monkeypatch):
    a = make_panorama(project, seed=6, width=64)
    b = make_panorama(project, seed=7, width=64)
    label(a, [SQUARE])
    label(b, [SEAM])
    path = export(project, tmp_path, format="label360")
    Instance.objects.all().delete()
    calls = []
    original = common.replace_panorama_instances

    def failing(pano, instances, replace, report=None):
        calls.append(pano.pk)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(pano, instances, replace, report)

    monkeypatch.setattr("datasets.importers.label360.replace_panorama_instances", failing)
    revisions = dict(Panorama.objects.values_list("pk", "revision"))
    report = run_import(project, "label360", str(path))
    assert not report.committed and "disk full" in report.error
    assert Instance.objects.count() == 0
    assert dict(Panorama.objects.values_list("pk", "revision")) == revisions


def test_coco_import_of_own_export(project, tmp_path):
    pano = make_panorama(project, seed=8, width=256)
    label(pano, [SQUARE, HOLED])
    path = export(project, tmp_path, format="coco")
    Instance.objects.all().delete()
    report = run_import(project, "coco", str(path))
    assert report.committed, report
    assert report.instances_created == 2
    got = list(Instance.objects.filter(panorama=pano).order_by("order"))
    for inst, original in zip(got, [SQUARE, HOLED], strict=True):
        assert inst.source == "import"
        assert (
            geom.iou(inst.geometry, original) > 0.85
        )  # contours run through boundary pixel centres
        mask = geom.rasterize(inst.geometry, 256, 128)
        ref = geom.rasterize(original, 256, 128)
        assert (mask ^ ref).sum() <= 0.15 * ref.sum()


def test_labelme_import_densifies_pixel_segments(project, tmp_path):
    pano = make_panorama(project, seed=9, width=256)
    doc = {
        "imagePath": pano.original_name,
        "imageWidth": 256,
        "imageHeight": 128,
        "shapes": [
            {
                "label": "car",
                "shape_type": "polygon",
                "points": [[20, 20], [120, 25], [100, 60], [30, 50]],
            },
            {"label": "car", "shape_type": "rectangle", "points": [[150, 70], [200, 100]]},
            {"label": "car", "shape_type": "line", "points": [[0, 0], [5, 5]]},
        ],
    }
    path = tmp_path / "pano.json"
    path.write_text(json.dumps(doc))
    report = run_import(project, "labelme", str(path))
    assert report.committed and report.instances_created == 2
    assert report.skipped and "line" in report.skipped[0]["reason"]
    rect = Instance.objects.filter(panorama=pano).order_by("order")[1]
    mask = geom.rasterize(rect.geometry, 256, 128)
    expected = np.zeros((128, 256), bool)
    expected[70:100, 150:200] = True  # pixel centres inside the pixel-space rectangle
    assert (mask ^ expected).sum() <= 2
