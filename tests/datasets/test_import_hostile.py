"""Imports under hostile input: every broken coordinate, RLE or structure is a clear, named
skip (never a crash or a native call on unchecked input), fuzzed per importer entry point."""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.models import Instance, Panorama
from datasets import geom
from datasets.importers.run import run_import
from datasets.rle import counts_to_string
from tests.factories import make_panorama

pytestmark = pytest.mark.django_db

W, H = 256, 128


@pytest.fixture
def pano(project):
    return make_panorama(project, seed=3, width=W)


def _coco(pano, segmentations, **ann) -> dict:
    return {
        "images": [{"id": 1, "file_name": pano.original_name, "width": W, "height": H}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [
            {"id": k + 1, "image_id": 1, "category_id": 1, "segmentation": s, **ann}
            for k, s in enumerate(segmentations)
        ],
    }


def _run(project, tmp_path, fmt, doc, name="in.json", **options):
    path = tmp_path / name
    path.write_text(json.dumps(doc, allow_nan=True))
    return run_import(project, fmt, str(path), **options)


GOOD = [10.0, 10.0, 60.0, 12.0, 50.0, 40.0, 12.0, 35.0]


@pytest.mark.parametrize(
    "bad, reason",
    [
        ([10.0, 10.0, float("nan"), 12.0, 50.0, 40.0], "not finite"),
        ([10.0, 10.0, float("inf"), 12.0, 50.0, 40.0], "not finite"),
        ([10.0, 10.0, 1e8, 12.0, 50.0, 40.0], "outside"),
        ([10.0, 10.0, 60.0, -1e8, 50.0, 40.0], "outside"),
        ([10.0, 10.0, "x", 12.0, 50.0, 40.0], "numbers"),
        ([10.0, 10.0, True, 12.0, 50.0, 40.0], "numbers"),
        ([10.0, 10.0, 60.0], "at least 3 points"),
    ],
)
def test_bad_coco_polygon_coordinates_are_named(project, pano, tmp_path, bad, reason):
    report = _run(project, tmp_path, "coco", _coco(pano, [[GOOD], [bad]]))
    assert report.committed, report.error
    assert report.instances_created == 1
    (skip,) = report.skipped
    assert skip["where"].startswith("annotations[1]") and reason in skip["reason"]


def _rle(mask: np.ndarray) -> dict:
    from datasets.rle import mask_to_runs, runs_to_counts

    counts = runs_to_counts(mask_to_runs(mask), *mask.shape)
    return {"size": list(mask.shape), "counts": counts}


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda r: {**r, "counts": r["counts"][:-1]}, "add up to"),
        (lambda r: {**r, "counts": [-5, *r["counts"][1:]]}, "0..H×W"),
        (lambda r: {**r, "counts": [10**30, *r["counts"][1:]]}, "0..H×W"),
        (lambda r: {**r, "counts": counts_to_string(np.array(r["counts"][:-1]))}, "add up to"),
        (lambda r: {**r, "counts": "\x00\x01"}, "character"),
        (lambda r: {**r, "counts": "é"}, "ASCII"),
        (lambda r: {**r, "size": [H, W + 2]}, "size"),
        (lambda r: {**r, "counts": {"a": 1}}, "list of integers or a string"),
    ],
)
def test_bad_rle_is_named(project, pano, tmp_path, mutate, reason):
    mask = np.zeros((H, W), bool)
    mask[30:60, 40:90] = True
    good = _rle(mask)
    report = _run(project, tmp_path, "coco", _coco(pano, [good, mutate(good)]))
    assert report.committed and report.instances_created == 1
    (skip,) = report.skipped
    assert reason in skip["reason"], skip


def test_compressed_rle_round_trip_and_seam_object_is_one_part(project, pano, tmp_path):
    mask = np.zeros((H, W), bool)
    mask[40:70, :20] = True
    mask[40:70, W - 15 :] = True  # one object across the seam
    counts = _rle(mask)["counts"]
    seg = {"size": [H, W], "counts": counts_to_string(np.array(counts))}
    report = _run(project, tmp_path, "coco", _coco(pano, [seg]))
    assert report.committed and report.converted == {"rle": 1}
    (inst,) = Instance.objects.filter(panorama=pano)
    assert len(inst.geometry) == 1  # one part, not two
    assert (geom.rasterize(inst.geometry, W, H) == mask).all()


def test_coco_polygon_across_the_seam_and_over_the_pole(project, pano, tmp_path):
    left = [0.0, 40.0, 20.0, 40.0, 20.0, 70.0, 0.0, 70.0]
    right = [W - 15.0, 40.0, float(W), 40.0, float(W), 70.0, W - 15.0, 70.0]
    cap = [0.0, 0.0, float(W), 0.0, float(W), 20.0, 0.0, 20.0]
    report = _run(project, tmp_path, "coco", _coco(pano, [[left, right], [cap]]))
    assert report.committed and report.converted == {"polygon": 2}, report
    seam, pole = Instance.objects.filter(panorama=pano).order_by("order")
    assert len(seam.geometry) == 1 and len(pole.geometry) == 1
    expected = np.zeros((H, W), bool)
    expected[40:70, :20] = expected[40:70, W - 15 :] = True
    assert (geom.rasterize(seam.geometry, W, H) ^ expected).sum() <= 4
    cap_mask = np.zeros((H, W), bool)
    cap_mask[:20] = True
    assert (geom.rasterize(pole.geometry, W, H) ^ cap_mask).sum() <= W // 8


def test_polygon_vertices_are_converted_not_traced(project, pano, tmp_path):
    t = np.linspace(0, 2 * math.pi, 24, endpoint=False)
    ring = np.stack([128 + 40 * np.cos(t), 64 + 25 * np.sin(t)], axis=1)
    report = _run(project, tmp_path, "coco", _coco(pano, [[ring.ravel().tolist()]]))
    assert report.converted == {"polygon": 1}


@pytest.mark.parametrize("lat_px", [1024, 600, 200])
def test_polygon_keeps_about_its_vertex_count(lat_px):
    """On a 4096×2048 image an object of ~120 px keeps its vertices (densified only where a
    pixel edge strays from its great circle by more than half a pixel), and rasterises back
    to the pixel polygon's mask."""
    from datasets.importers.pixels import coco_polygon_runs, segmentation_geometry

    w, h = 4096, 2048
    t = np.linspace(0, 2 * math.pi, 16, endpoint=False)
    ring = np.stack([2000 + 60 * np.cos(t), lat_px + 40 * np.sin(t)], axis=1)
    geometry, how = segmentation_geometry([ring.ravel().tolist()], w, h)
    assert how == "polygon" and len(geometry[0][0]) <= 1.5 * 16
    ours = geom.rasterize(geometry, w, h)
    runs = coco_polygon_runs([ring], w, h)
    assert abs(int(ours.sum()) - runs.area) <= 0.05 * runs.area


@pytest.mark.parametrize(
    "points, reason",
    [
        ([[10, 10], [float("nan"), 10], [20, 30]], "not finite"),
        ([[10, 10], [float("inf"), 10], [20, 30]], "not finite"),
        ([[10, 10], [1e5, 10], [20, 30]], "outside"),
        ([[10, 10], [20, "a"], [20, 30]], "pair of numbers"),
        ("abc", "list of [x, y] pairs"),
    ],
)
def test_bad_labelme_points_are_named(project, pano, tmp_path, points, reason):
    doc = {
        "imagePath": pano.original_name,
        "imageWidth": W,
        "imageHeight": H,
        "shapes": [
            {"label": "car", "shape_type": "polygon", "points": [[10, 10], [60, 12], [40, 40]]},
            {"label": "car", "shape_type": "polygon", "points": points},
        ],
    }
    report = _run(project, tmp_path, "labelme", doc)
    assert report.committed and report.instances_created == 1
    (skip,) = report.skipped
    assert "shapes[1]" in skip["where"] and reason in skip["reason"]


def test_labelme_reports_are_specific(project, pano, tmp_path):
    doc = {
        "imagePath": pano.original_name,
        "imageWidth": W,
        "imageHeight": H,
        "shapes": [
            {"label": "car", "shape_type": "rectangle", "points": [[10, 10]]},
            {"label": "car", "shape_type": "point", "points": [[10, 10]]},
            {"label": "car", "shape_type": "circle", "points": [[100, 60], [110, 60]]},
            {"label": "__ignore__", "shape_type": "polygon", "points": [[1, 1], [9, 1], [5, 9]]},
        ],
    }
    report = _run(project, tmp_path, "labelme", doc)
    reasons = [s["reason"] for s in report.skipped]
    assert "a rectangle needs 2 corner points, got 1" in reasons[0]
    assert "has no area" in reasons[1]
    circle, ignore = Instance.objects.filter(panorama=pano).order_by("order")
    assert ignore.label_class.is_ignore and ignore.label_class.name == "__ignore__"
    disc = geom.rasterize(circle.geometry, W, H)
    assert abs(int(disc.sum()) - math.pi * 10 * 10) < 25
    as_list = _run(project, tmp_path, "labelme", [doc], name="list.json")
    assert not as_list.committed and "top level is a list" in as_list.error


def test_label360_names_the_bad_item(project, pano, tmp_path):
    from tests.datasets.helpers import SQUARE, export, label, read_json

    label(pano, [SQUARE, SQUARE])
    data = read_json(export(project, tmp_path, format="label360"), "label360.json")
    data["panoramas"][0]["instances"][1]["order"] = "abc"
    report = _run(project, tmp_path, "label360", data)
    assert report.committed and report.instances_created == 1
    (skip,) = report.skipped
    assert "instances[1]" in skip["where"] and "order" in skip["reason"]


def test_import_that_skips_everything_is_refused(project, pano, tmp_path):
    report = _run(project, tmp_path, "coco", _coco(pano, [[[1.0, 2.0, float("nan"), 3, 4, 5]]]))
    assert not report.committed
    assert report.error.startswith("nothing was imported: all 1 item(s) were skipped")


def test_reimport_is_idempotent_and_append_adds(project, pano, tmp_path):
    doc = _coco(pano, [[GOOD], [[100.0, 50.0, 140.0, 50.0, 120.0, 90.0]]])
    for _ in range(2):
        assert _run(project, tmp_path, "coco", doc).committed
    assert Instance.objects.filter(panorama=pano).count() == 2
    report = _run(project, tmp_path, "coco", doc, replace=False)
    assert report.instances_replaced == 0
    assert Instance.objects.filter(panorama=pano).count() == 4
    report = _run(project, tmp_path, "coco", doc)
    assert report.instances_replaced == 4 and Instance.objects.filter(panorama=pano).count() == 2


def test_approved_panoramas_are_skipped_with_the_reason(project, pano, tmp_path):
    Panorama.objects.filter(pk=pano.pk).update(status="approved")
    report = _run(project, tmp_path, "coco", _coco(pano, [[GOOD]]))
    assert not report.committed and "approved" in report.error


def test_zip_bomb_member_is_refused(project, pano, tmp_path, settings):
    settings.LABEL360_MAX_IMPORT_BYTES = 10_000
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("annotations/instances.json", " " * 1_000_000)
    report = run_import(project, "coco", str(path))
    assert not report.committed and "at most 10000" in report.error


# -- fuzzing: any JSON document is a report, never an exception ----------------------------

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    st.sampled_from([0, 1, -1, W, H, 1e8, 0.5]),
)
scalars = st.one_of(numbers, st.none(), st.booleans(), st.text(max_size=4))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=30,
)
points = st.lists(st.lists(numbers, min_size=2, max_size=2), max_size=6)
coco_segmentation = st.one_of(
    values,
    st.lists(st.lists(numbers, min_size=0, max_size=12), max_size=3),
    st.fixed_dictionaries(
        {
            "size": st.sampled_from([[H, W], [W, H], [H], "x"]),
            "counts": st.one_of(
                st.lists(st.integers(-5, W * H + 5), max_size=8), st.text(max_size=12)
            ),
        }
    ),
)


def _fuzz_settings(n=40):
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@_fuzz_settings()
@given(segs=st.lists(coco_segmentation, min_size=1, max_size=3), extra=values)
def test_fuzz_coco(project, pano, tmp_path, segs, extra):
    doc = _coco(pano, segs)
    doc["annotations"].append(extra)
    report = _run(project, tmp_path, "coco", doc)
    assert report.committed or report.error


@_fuzz_settings()
@given(
    shapes=st.lists(
        st.fixed_dictionaries(
            {
                "label": st.one_of(st.just("car"), values),
                "shape_type": st.sampled_from(
                    ["polygon", "rectangle", "circle", "mask", "line", None]
                ),
                "points": st.one_of(points, values),
            },
            optional={"mask": st.text(max_size=8)},
        ),
        max_size=4,
    ),
    size=st.sampled_from([(W, H), (W, W), (-2, -1), (10**9, 5 * 10**8)]),
)
def test_fuzz_labelme(project, pano, tmp_path, shapes, size):
    doc = {"imagePath": pano.original_name, "imageWidth": size[0], "imageHeight": size[1]}
    doc["shapes"] = shapes
    report = _run(project, tmp_path, "labelme", doc)
    assert report.committed or report.error or report.skipped


@_fuzz_settings()
@given(
    instance=st.dictionaries(
        st.sampled_from(
            [
                "class",
                "geometry",
                "order",
                "score",
                "source",
                "attributes",
                "model_version",
                "is_suggestion",
                "created_at",
            ]
        ),
        values,
    ),
    panorama_extra=st.dictionaries(
        st.sampled_from(["pose", "metadata", "events", "assignees", "status"]), values
    ),
)
def test_fuzz_label360(project, pano, tmp_path, instance, panorama_extra):
    from tests.datasets.helpers import SQUARE, export, label, read_json

    if not Instance.objects.filter(panorama=pano).exists():
        label(pano, [SQUARE])
    data = read_json(export(project, tmp_path, format="label360"), "label360.json")
    entry = data["panoramas"][0]
    entry.update(panorama_extra)
    entry["instances"].append(instance)
    report = _run(project, tmp_path, "label360", data)
    assert report.committed or report.error
