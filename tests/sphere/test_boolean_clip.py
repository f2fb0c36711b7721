import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from label360.sphere import (
    View,
    area,
    contains,
    geometry_to_view,
    intersection,
    iou,
    mask_to_geometry,
    rasterize,
    union,
    validate_geometry,
    view_polygon_to_sphere,
)
from label360.sphere.boolean import difference
from label360.sphere.parity import main as parity_main

from .conftest import star_polygons

A = [[[-10, -10], [10, -10], [10, 10], [-10, 10]]]
B = [[[0, -10], [20, -10], [20, 10], [0, 10]]]


def weighted_pixel_area(mask):
    h, w = mask.shape
    edges = np.radians(90 - np.arange(h + 1) * 180 / h)
    band = (np.sin(edges[:-1]) - np.sin(edges[1:])) * 2 * math.pi / w
    return float((mask * band[:, None]).sum())


@settings(max_examples=15, deadline=None)
@given(
    star_polygons(max_radius=50.0, min_radius=8.0), star_polygons(max_radius=50.0, min_radius=8.0)
)
def test_iou_symmetric_and_matches_raster(pa, pb):
    a, b = [pa[0]], [pb[0]]
    assert iou(a, b) == iou(b, a)
    assert iou(a, a) == 1.0
    ma, mb = rasterize(a, 1440, 720), rasterize(b, 1440, 720)
    ia, ua = weighted_pixel_area(ma & mb), weighted_pixel_area(ma | mb)
    assert iou(a, b) == pytest.approx(ia / ua, abs=0.03)
    assert area(intersection(a, b)) == pytest.approx(ia, abs=0.003 + 0.02 * ia)
    assert area(union([a, b])) == pytest.approx(ua, abs=0.003 + 0.02 * ua)


def test_boolean_basics_and_fallback():
    inter = intersection(A, B)
    assert area(inter) + area(difference(A, B)) == pytest.approx(area(A), rel=1e-9)
    assert iou(A, [[[30, 0], [40, 0], [35, 5]]]) == 0.0
    # across the seam
    s1 = [[[170, -10], [-170, -10], [-170, 10], [170, 10]]]
    assert iou(s1, s1) == 1.0
    assert 0.3 < iou(s1, [[[175, -10], [-165, -10], [-165, 10], [175, 10]]]) < 0.9
    # inputs that do not fit one hemisphere -> per-cube-face path
    far_a = [[[-100, -10], [-10, -10], [80, -10], [80, 10], [-10, 10], [-100, 10]]]
    far_b = [[[60, -10], [170, -10], [170, 10], [60, 10]]]
    u = union([far_a, far_b])
    ma, mb = rasterize(far_a, 1440, 720), rasterize(far_b, 1440, 720)
    assert area(u) == pytest.approx(weighted_pixel_area(ma | mb), rel=0.01)
    assert iou(far_a, far_b) == pytest.approx(
        weighted_pixel_area(ma & mb) / weighted_pixel_area(ma | mb), abs=0.01
    )


def test_geometry_to_view_exact_and_clipped():
    view = View(0, 0, 0, 90, 101, 101)
    polys = geometry_to_view(A, view)
    # each vertex projects exactly
    x, y = view.lonlat_to_pixel(np.array(A[0])[:, 0], np.array(A[0])[:, 1])
    assert np.allclose(np.sort(polys[0][0][:, 0]), np.sort(x), atol=1e-9)
    # behind the camera: nothing, never wrapped across the screen
    assert geometry_to_view([[[170, -10], [-170, -10], [-170, 10], [170, 10]]], view) == []
    # partly behind: clipped to the image rectangle
    big = [[[-80, -20], [80, -20], [80, 20], [-80, 20]]]
    (ring,) = geometry_to_view(big, view)[0]
    assert ring[:, 0].min() >= -0.5 - 1e-9 and ring[:, 0].max() <= 100.5 + 1e-9
    # round trip through view_polygon_to_sphere
    pts = np.array([[10.0, 10.0], [90.0, 12.0], [50.0, 95.0]])
    ring = view_polygon_to_sphere(pts, view)
    (back,) = geometry_to_view([ring], view)[0]
    assert np.allclose(np.sort(back, axis=0), np.sort(pts, axis=0), atol=1e-9)


def test_mask_to_geometry_seam_pole_and_view():
    g = [[[170, -10], [-170, -10], [-170, 10], [170, 10]]]
    m = rasterize(g, 1440, 720)
    out = mask_to_geometry(m, tolerance_deg=0.05)
    assert len(out) == 1  # one polygon across the seam
    assert iou(out, g) > 0.95
    cap = [[[0, 70], [120, 70], [-120, 70]]]
    out = mask_to_geometry(rasterize(cap, 1440, 720), tolerance_deg=0.05)
    assert area(out) == pytest.approx(area(cap), rel=0.05)
    view = View(10, 5, 0, 90, 200, 100)
    mm = np.zeros((100, 200), dtype=bool)
    mm[20:80, 50:150] = True
    mm[40:60, 90:110] = False  # a hole
    out = mask_to_geometry(mm, tolerance_deg=0.1, view=view)
    assert len(out) == 1 and len(out[0]) == 2
    assert mask_to_geometry(np.zeros((10, 20), bool)) == []


def test_parity_file(tmp_path):
    p = tmp_path / "parity.json"
    assert parity_main([str(p)]) == 0
    doc = json.loads(p.read_text())
    assert doc["schema_version"] == 1
    for key in ("lonlat_to_vec", "vec_to_lonlat", "views", "polygons", "arcs"):
        assert doc[key]
    v = doc["views"][1]
    assert v["pixel_to_lonlat"][2]["lon"] == pytest.approx(90.0)


def test_mask_to_geometry_touching_corners():
    # objects touching at a pixel corner become two parts; holes touching at a corner survive
    m = np.zeros((90, 180), bool)
    m[20:30, 20:30] = True
    m[30:40, 30:40] = True
    assert len(mask_to_geometry(m, tolerance_deg=0.05)) == 2
    m = np.zeros((90, 180), bool)
    m[20:40, 20:40] = True
    m[25:30, 25:30] = False
    m[30:35, 30:35] = False
    out = mask_to_geometry(m, tolerance_deg=0.05)
    assert len(out) == 1 and len(out[0]) == 3


def test_traced_outlines_keep_thin_regions_whole():
    """Outlines follow the pixel edges (traced on a finer grid), not the pixel centres: a
    region rasterises back to exactly its pixels, thin poles included (across the seam too)."""
    mask = np.zeros((256, 512), bool)
    mask[100:160, 200:202] = True  # a 2 px pole
    mask[120:132, 300:304] = True  # a 4 px person
    mask[90:96, 0:5] = mask[90:96, -3:] = True  # a car across the seam
    geometry = mask_to_geometry(mask, 0.05)
    assert len(geometry) == 3
    assert (rasterize(geometry, 512, 256) == mask).all()
    # tracing the grid itself put the outline half a pixel inside: the pole is a zero-area
    # ring and the person loses its border pixels
    old = mask_to_geometry(mask, 0.05, trace_scale=1)
    assert rasterize(old, 512, 256).sum() < 0.6 * mask.sum()


def test_wide_regions_follow_the_parallels():
    # a wide region's top and bottom edges are parallels (not great circles): simplified on
    # the sphere, the outline stays within the tolerance of the pixels' edges
    mask = np.zeros((512, 1024), bool)
    mask[60:200, 100:700] = True  # ~210 degrees wide at high latitude
    geometry = mask_to_geometry(mask, 0.05)
    assert len(geometry) == 1
    back = rasterize(geometry, 1024, 512)
    assert (back != mask).sum() <= 0.002 * mask.sum()


def test_view_mask_outline_on_pixel_edges():
    view = View(10, 5, 0, 90, 200, 100)
    mm = np.zeros((100, 200), dtype=bool)
    mm[30:70, 99:101] = True  # a 2 px wide pole in the view
    (poly,) = mask_to_geometry(mm, tolerance_deg=0.01, view=view)
    ((ring,),) = geometry_to_view([poly], view)
    assert ring[:, 0].min() == pytest.approx(98.5 + 0.125, abs=0.02)
    assert ring[:, 0].max() == pytest.approx(100.5 - 0.125, abs=0.02)


def test_connectivity_8_keeps_corner_touching_pixels_in_one_valid_outline():
    m = np.zeros((90, 180), bool)
    m[20:30, 20:30] = True
    m[30:40, 30:40] = True
    out = mask_to_geometry(m, tolerance_deg=0.05, connectivity=8)
    assert len(out) == 1 and validate_geometry(out)
    rows, cols = np.nonzero(rasterize(out, 180, 90) != m)
    assert len(rows) <= 0.1 * m.sum()  # only pixels near the pinch point change
    assert np.abs(rows - 30).max() <= 8 and np.abs(cols - 30).max() <= 8
    with pytest.raises(ValueError, match="connectivity"):
        mask_to_geometry(m, connectivity=6)


def test_a_region_holding_a_pole_is_one_ring_around_it():
    """A sky (north) and a nadir object with holes, one across the seam (south), each come
    back as ONE polygon that rasterises back to exactly its pixels; a band around the sphere
    and a cap of more than a hemisphere keep the two-halves path (a ring's interior is the
    smaller side)."""
    w, h = 1024, 512
    yy, xx = np.mgrid[0:h, 0:w]
    sky = yy < 60 + 20 * np.sin(xx / w * 2 * np.pi * 3)
    nadir = yy > h - 80 - 10 * np.cos(xx / w * 2 * np.pi * 2)
    nadir[h - 40 : h - 30, 100:140] = False  # a hole
    nadir[h - 60 : h - 55, w - 10 :] = nadir[h - 60 : h - 55, :6] = False  # one across the seam
    car = np.zeros_like(sky)
    car[200:220, 300:340] = True
    mask = sky | nadir | car
    out = mask_to_geometry(mask, 0.05)
    assert sorted(len(p) for p in out) == [1, 1, 3]
    assert (rasterize(out, w, h) == mask).all()
    (north,) = [p for p in out if max(v[1] for v in p[0]) > 60]
    assert contains([north], 0.0, 90.0) and not contains([north], 0.0, 60.0)
    band = np.abs(yy - h / 2) < 30
    out = mask_to_geometry(band, 0.05)
    assert len(out) == 2 and (rasterize(out, w, h) == band).all()
    big = yy < 300
    out = mask_to_geometry(big, 0.05)
    assert len(out) == 2 and (rasterize(out, w, h) == big).all()


def test_repairing_spikes_checks_only_the_changed_corners(monkeypatch):
    """Dropping flagged vertices re-tests only the corners next to each dropped vertex: three
    zero-width spikes are repaired with one full validation and one confirming it, not one
    per dropped vertex, and the result is valid."""
    from label360.sphere import contours

    ring = [[0, 0]]
    for x in (2, 4, 6):  # out along a meridian and back part of the way: a zero-width spike
        ring += [[x, 0], [x, -3], [x, -1], [x + 1, 0]]
    ring += [[10, 0], [10, 10], [0, 10]]
    reasons = {p.reason for p in contours.geometry_problems([[ring]])}
    assert reasons == {"ring folds back on itself (zero-width spike)"}
    calls = []
    full = contours.geometry_problems
    monkeypatch.setattr(contours, "geometry_problems", lambda g: calls.append(1) or full(g))
    repaired = contours._drop_flagged_vertices([ring])
    assert repaired is not None and not full([repaired])
    assert len(repaired[0]) == len(ring) - 3
    assert [x for x in ([v[0], v[1]] for v in repaired[0]) if x[1] == -3] == []
    assert len(calls) == 2


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    depth=st.lists(st.integers(1, 12), min_size=64, max_size=64),
    holes=st.lists(st.tuples(st.integers(0, 63), st.integers(0, 10)), max_size=6),
    south=st.booleans(),
    connectivity=st.sampled_from([4, 8]),
)
def test_pole_regions_rasterise_back_to_their_pixels(depth, holes, south, connectivity):
    """Any region holding a pole — a ragged cap with pixel holes and notches, across the
    seam — is traced into valid polygons that rasterise back to its pixels: exactly, except
    where a hole touches the outline at a pixel corner (the repair moves it by a pixel) or,
    with 8-connectivity, at a repaired pinch point."""
    w, h = 64, 32
    mask = np.zeros((h, w), bool)
    for x, d in enumerate(depth):
        mask[:d, x] = True
    for x, y in holes:
        mask[min(y + 1, h - 1), x] = False
    if south:
        mask = mask[::-1]
    out = mask_to_geometry(mask, 0.05, connectivity=connectivity)
    validate_geometry(out)
    wrong = int((rasterize(out, w, h) != mask).sum())
    assert wrong <= max(2, 0.02 * mask.sum())
