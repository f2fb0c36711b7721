"""Pure-library tests: exact training targets, merging on the sphere, GrabCut quality."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.prelabel.coverage import cover_views
from inference.prelabel.grabcut import segment_box
from inference.prelabel.merge import Suggestion, merge_duplicates
from inference.prelabel.predict import view_image
from inference.prelabel.samples import ViewSampler, rasterize_targets
from label360.sphere import View, centroid, geometry_to_view, iou, rasterize
from label360.sphere.contours import seam_components
from label360.synthetic import render


@pytest.fixture(scope="module")
def street():
    return render("street", 7, 1024)


def test_targets_match_exact_rasterisation_of_view_polygons(street):
    import cv2

    inst = [(1 + k % 5, a["geometry"]) for k, a in enumerate(street.annotations) if a["geometry"]]
    rng = np.random.default_rng(3)
    for _ in range(5):
        view = ViewSampler(size=96).draw(rng)
        ref = np.zeros((96, 96), np.uint8)
        for index, geometry in inst:  # the library's own projection, no culling
            for part in geometry_to_view(geometry, view):
                rings = [np.round(r * 16).astype(np.int32) for r in part]
                cv2.fillPoly(ref, rings, index, lineType=cv2.LINE_8, shift=4)
        assert np.array_equal(rasterize_targets(inst, view), ref)


def test_cover_views_see_every_direction():
    seen = np.zeros((90, 180), bool)
    from label360.sphere import view_to_equirect

    for view in cover_views(32):
        _, valid = view_to_equirect(np.zeros((32, 32), np.float32), view, 180, 90)
        seen |= valid
    assert seen.all()


def test_components_join_across_the_seam():
    mask = np.zeros((20, 40), bool)
    mask[5:10, :3] = True
    mask[5:10, -3:] = True
    mask[15:18, 20:22] = True
    labels, count = seam_components(mask)
    assert count == 2
    assert labels[6, 0] == labels[6, -1]


def _square(lon, lat, half):
    return [
        [
            [lon - half, lat - half],
            [lon + half, lat - half],
            [lon + half, lat + half],
            [lon - half, lat + half],
        ]
    ]


def test_duplicates_merge_by_spherical_iou_most_trusted_wins():
    a = Suggestion("car", [_square(10, 0, 5)], 0.9, trust=0.5)
    b = Suggestion("car", [_square(10.5, 0, 5)], 0.8, trust=0.9)  # nearer its view centre
    c = Suggestion("car", [_square(40, 0, 5)], 0.7, trust=0.7)
    d = Suggestion("tree", [_square(10, 0, 5)], 0.6, trust=0.6)  # other class: kept
    cut = Suggestion("car", [_square(8, 0, 2)], 0.9, trust=0.2)  # cut-off copy inside a
    kept = merge_duplicates([a, b, c, d, cut])
    assert [k.geometry for k in kept if k.class_name == "car"] == [b.geometry, c.geometry]
    assert kept[0].score == 0.9 and kept[0].extra["views"] == 3


def test_grabcut_box_reaches_iou_08_on_synthetic_objects(street):
    values = []
    for a in street.annotations:
        if a["class"] not in ("car", "tree", "person") or a["occluded"] or not a["geometry"]:
            continue
        if a["area_sr"] < 2e-4:
            continue
        lon, lat = centroid(a["geometry"])
        extent = math.degrees(2 * math.sqrt(a["area_sr"]))
        view = View(lon, lat, 0.0, min(100.0, max(20.0, 2.5 * extent)), 512, 512)
        pts = np.concatenate([r for p in geometry_to_view(a["geometry"], view) for r in p])
        box = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
        result = segment_box(view_image(street.rgb, view), view, box)
        values.append(iou(result.geometry, a["geometry"]) if result.geometry else 0.0)
        assert 0.0 <= result.score <= 1.0
    assert len(values) >= 3
    assert np.mean(values) >= 0.8, values
    assert np.median(values) >= 0.8, values


def test_grabcut_clicks_are_honoured(street):
    view = View(0.0, 0.0, 0.0, 90.0, 256, 256)
    image = view_image(street.rgb, view)
    result = segment_box(image, view, (60, 60, 200, 200), negative=[(130, 130)])
    assert not result.mask[130, 130]
    empty = rasterize(result.geometry, 64, 32) if result.geometry else None
    assert empty is None or empty.dtype == bool


def test_focus_and_nadir_views_oversample_small_instances(street):
    from inference.prelabel.samples import small_instance_directions

    names = ["background", "building", "car", "person", "tree", "pole"]
    inst = [(names.index(a["class"]), a["geometry"]) for a in street.annotations if a["geometry"]]
    focus = small_instance_directions(inst, 12.0)
    assert focus and len(focus) < len(inst)  # buildings (wide) are not focus targets
    rng = np.random.default_rng(0)
    small = ViewSampler(size=64, focus_fraction=1.0, focus_hfov_range=(30.0, 30.0))
    hits = 0
    for _ in range(10):
        view = small.draw(rng, focus)
        assert view.hfov == 30.0
        target = rasterize_targets(inst, view)
        hits += bool(np.isin(target, [2, 3, 4, 5]).any())  # a small thing (not a building)
    assert hits >= 9
    down = ViewSampler(size=64, pole_fraction=1.0).draw(np.random.default_rng(1))
    assert abs(abs(down.pitch) - 90.0) < 40.0


def test_dice_loss_is_zero_for_a_perfect_prediction_and_ignores_ignore_pixels():
    import torch

    from inference.prelabel.training import _dice_loss

    y = torch.zeros(1, 8, 8, dtype=torch.long)
    y[0, 2:5, 2:5] = 2
    y[0, 0, 0] = 255
    perfect = torch.nn.functional.one_hot(y.clamp(max=2), 3).permute(0, 3, 1, 2).float() * 50
    assert float(_dice_loss(perfect, y, 3)) < 1e-3
    assert float(_dice_loss(torch.zeros(1, 3, 8, 8), y, 3)) > 0.3


def test_grabcut_low_resolution_with_edge_refinement_matches_full_resolution(street):
    """GrabCut on ≤ 256 px + edge refinement ≈ GrabCut on 512 px, and faster (loose bound)."""
    import time

    a = max(
        (x for x in street.annotations if x["class"] == "car" and not x["occluded"]),
        key=lambda x: x["area_sr"],
    )
    lon, lat = centroid(a["geometry"])
    view = View(lon, lat, 0.0, 2.0 * math.degrees(2 * math.sqrt(a["area_sr"])), 1024, 768)
    pts = np.concatenate([r for p in geometry_to_view(a["geometry"], view) for r in p])
    box = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
    image = view_image(street.rgb, view)
    timings = {}
    results = {}
    for side in (256, 512):
        t0 = time.perf_counter()
        results[side] = segment_box(image, view, box, max_side=side)
        timings[side] = time.perf_counter() - t0
    fast, slow = results[256], results[512]
    assert iou(fast.geometry, a["geometry"]) >= 0.85
    assert iou(fast.geometry, a["geometry"]) >= iou(slow.geometry, a["geometry"]) - 0.03
    overlap = (fast.mask & slow.mask).sum() / max((fast.mask | slow.mask).sum(), 1)
    assert overlap >= 0.9
    assert timings[256] < 2.0  # target 0.3 s; loose because CI machines are shared


def test_small_holes_of_predicted_regions_are_filled_big_ones_kept():
    from inference.prelabel.merge import _fill_small_holes, pixel_solid_angles

    h, w = 256, 512
    sr = np.broadcast_to(pixel_solid_angles(w, h), (h, w))
    region = np.zeros((h, w), bool)
    region[100:160, 100:200] = True
    region[110:112, 110:112] = False  # noise: 4 px
    region[120:150, 140:190] = False  # a real hole: 1500 px
    filled = _fill_small_holes(region, sr, min_area_sr=float(sr[120, 0]) * 20)
    assert filled[110:112, 110:112].all()
    assert not filled[120:150, 140:190].any()
    assert (filled & ~region).sum() == 4
