"""The simulated annotator of bench/effort.py: its invariants on a few exact instances.

The benchmark modules live in bench/ (not a package); they are imported from there.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from label360.sphere import area, iou, rasterize, vec_to_lonlat
from label360.sphere.vectors import rot_x, rot_y

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import effort_shapes as S  # noqa: E402
import effort_sim as E  # noqa: E402

WIDTH = 1024
H = WIDTH // 2

# a "rectangle" near the equator: meridian sides, great-circle top and bottom
EQUATOR_RECT = [[[[-10.0, -6.0], [10.0, -6.0], [10.0, 6.0], [-10.0, 6.0]]]]
# a square lamp right above the camera: contains the north pole
POLAR_SQUARE = [[[[45.0, 68.0], [135.0, 68.0], [-135.0, 68.0], [-45.0, 68.0]]]]
# across the seam
SEAM_RECT = [[[[170.0, -5.0], [-172.0, -5.0], [-172.0, 7.0], [170.0, 7.0]]]]


def exact_drawn(result: E.Result) -> list:
    """The drawn great-circle polygons as a geometry (ours / cubemap)."""
    return [[s.to_lonlat(xy).tolist()] for s, xy in result.polygons]


def independent_iou(result: E.Result, parts: list) -> float:
    """Reference IoU recomputed without the simulator's code: pixel-centre masks (product
    rasteriser for great-circle polygons, shapely point-in-polygon for LabelMe's pixel
    polygons) weighted by cos(latitude)."""
    truth = rasterize(parts, WIDTH, H)
    if result.mode == "labelme":
        xs, ys = np.meshgrid(np.arange(WIDTH), np.arange(H))
        drawn = np.zeros((H, WIDTH), bool)
        for _, xy in result.polygons:
            drawn |= shapely.contains_xy(shapely.Polygon(xy), xs, ys)
    else:
        drawn = rasterize(exact_drawn(result), WIDTH, H)
    w = np.cos(np.radians(90.0 - (np.arange(H) + 0.5) * 180.0 / H))[:, None]
    return float((w * (drawn & truth)).sum() / (w * (drawn | truth)).sum())


@pytest.mark.parametrize("mode", E.MODES)
@pytest.mark.parametrize("parts", [EQUATOR_RECT, POLAR_SQUARE, SEAM_RECT])
def test_reaches_target_when_it_says_so(parts, mode):
    r = E.simulate(parts, mode, WIDTH)
    assert r.reached, (mode, r.clicks, r.iou)
    assert r.iou >= E.TARGET_IOU
    assert abs(independent_iou(r, parts) - r.iou) < 2e-3
    assert 3 <= r.clicks <= E.CAP_CLICKS
    assert r.clicks == sum(len(xy) for _, xy in r.polygons)
    if mode != "labelme":  # great-circle polygons: the exact spherical IoU agrees too
        assert iou(exact_drawn(r), parts) >= E.TARGET_IOU - 0.01


def test_rectangle_near_the_equator_needs_about_four_clicks():
    clicks = {m: E.simulate(EQUATOR_RECT, m, WIDTH).clicks for m in E.MODES}
    assert clicks["labelme"] <= 5
    assert clicks["ours"] == 4
    assert clicks["cubemap"] == 4  # inside face F


def test_polar_cap_needs_many_clicks_in_labelme():
    labelme = E.simulate(POLAR_SQUARE, "labelme", WIDTH)
    ours = E.simulate(POLAR_SQUARE, "ours", WIDTH)
    assert ours.clicks == 4 and ours.iou > 0.99  # its four corners are exact
    assert labelme.clicks >= 8
    # the flat polygon runs along the top border of the image
    ((_, xy),) = labelme.polygons
    assert np.isclose(xy[:, 1].min(), -0.5)


def test_seam_needs_a_polygon_per_side_in_labelme():
    labelme = E.simulate(SEAM_RECT, "labelme", WIDTH)
    ours = E.simulate(SEAM_RECT, "ours", WIDTH)
    assert labelme.pieces == 2 and labelme.drawn == 2 and labelme.clicks >= 6
    assert ours.pieces == 1 and ours.clicks == 4


def test_cube_face_edge_splits_the_polygon():
    across = [[[[35.0, -5.0], [55.0, -5.0], [55.0, 5.0], [35.0, 5.0]]]]  # over F|R at lon 45
    cube = E.simulate(across, "cubemap", WIDTH)
    assert cube.pieces == 2 and cube.drawn == 2 and cube.clicks == 8
    assert E.simulate(across, "ours", WIDTH).clicks == 4


def test_cap_is_a_failure_and_runs_are_deterministic():
    r = E.simulate(POLAR_SQUARE, "labelme", WIDTH, cap=4)
    assert not r.reached and r.clicks <= 4 and r.iou < E.TARGET_IOU
    a = E.simulate(SEAM_RECT, "cubemap", WIDTH)
    b = E.simulate(SEAM_RECT, "cubemap", WIDTH)
    assert a.clicks == b.clicks and a.iou == b.iou
    assert all(np.array_equal(p[1], q[1]) for p, q in zip(a.polygons, b.polygons, strict=True))


def test_guidance_grid_is_the_xor_of_inserted_triangles():
    """The scoring identity: a polygon's cells are the XOR of the triangles its insertions
    added, i.e. its own even-odd fill."""
    (piece,) = E.pieces_for("labelme", POLAR_SQUARE, WIDTH)
    state = E.State(piece)
    for c in (5, 11, 17, 23, 30):
        if c not in state.pair:
            state.insert(c)
    poly = state.cand[state.chosen]
    fill = E._parity_fill(poly[:, 0].copy(), poly[:, 1].copy(), *state.p.shape)
    assert np.array_equal(fill, state.p)


def _equirect_area(polys: list, width: int) -> float:
    """Solid angle of planar pixel polygons on the equirect image (Green's theorem with the
    cos-latitude weight: area = −∮ sin(lat) d(lon), exact for straight pixel edges)."""
    total = 0.0
    h = width // 2
    for p in polys:
        xy = np.asarray(shapely.geometry.polygon.orient(p, 1.0).exterior.coords)
        lam = np.radians((xy[:, 0] + 0.5) / width * 360.0 - 180.0)
        phi = np.radians(90.0 - (xy[:, 1] + 0.5) / h * 180.0)
        dl, dp = np.diff(lam), np.diff(phi)
        flat = np.abs(dp) < 1e-12
        seg = np.where(
            flat,
            np.sin(phi[:-1]) * dl,
            dl * (np.cos(phi[:-1]) - np.cos(phi[1:])) / np.where(flat, 1.0, dp),
        )
        total += -seg.sum()
    return abs(total)


@settings(max_examples=40, deadline=None)
@given(
    lon=st.floats(-180.0, 179.99),
    lat=st.floats(-90.0, 90.0),
    radius=st.floats(1.0, 30.0),
    n=st.integers(3, 7),
    phase=st.floats(0.0, 2 * math.pi),
)
def test_equirect_outline_keeps_the_area(lon, lat, radius, n, phase):
    """Any convex ring — across the seam, around a pole — becomes pixel polygons on the
    equirect image that cover the same solid angle (the LabelMe drawing space is exact)."""
    t = phase + np.arange(n) * 2 * math.pi / n
    r = math.radians(radius)
    v = np.stack([np.sin(r) * np.cos(t), np.sin(r) * np.sin(t), np.full(n, math.cos(r))], 1)
    lo, la = vec_to_lonlat(v @ (rot_y(lon) @ rot_x(-lat)).T)
    ring = np.stack([lo, la], axis=1)
    polys = E.equirect_polygons(ring, WIDTH)
    assert polys
    expect = area([[ring.tolist()]])
    assert abs(_equirect_area(polys, WIDTH) - expect) <= 2e-3 * expect


def test_scene_run_covers_poles_and_seam():
    """A synthetic room with the extras: objects at the poles and across the seam, every
    mode simulated for each kept instance (what bench/effort.py --quick runs)."""
    import effort
    from effort_scenes import scene_instances

    instances = scene_instances("room", 1, 0.0)
    assert any(i.pole and i.lat > 60 for i in instances)  # round lamp above the camera
    assert any(i.pole and i.lat < -60 for i in instances)  # the tripod
    assert any(i.seam and not i.pole for i in instances)  # the cameraman behind
    assert {i.shape for i in instances} == {"box", "round"}
    rows, skipped = effort.run([("room", 1, 0.0)], WIDTH, 100.0, 2, E.CAP_CLICKS)
    assert len(rows) == 2 and skipped["hole"] == 0
    for row in rows:
        for mode in E.MODES:
            assert row[mode]["reached"] == (row[mode]["iou"] >= E.TARGET_IOU)
    assert "| all | 2 |" in effort.report(rows, E.CAP_CLICKS)


def _disc(centre: np.ndarray, normal: np.ndarray, radius: float, n: int = 256) -> list:
    """A flat disc's outline as a 256-gon on the sphere (a manhole, a round lamp)."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(normal, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(normal, e1)
    t = 2 * np.pi * np.arange(n) / n
    pts = centre + radius * (np.cos(t)[:, None] * e1 + np.sin(t)[:, None] * e2)
    lon, lat = vec_to_lonlat(pts / np.linalg.norm(pts, axis=1, keepdims=True))
    return [[np.stack([lon, lat], axis=1).tolist()]]


def test_shape_tools_ellipse_in_a_view_circle_and_rectangle_on_the_equirect():
    """A manhole 1.6 under the camera, 60–70° below the horizon: our ellipse tool (three clicks
    in a view) follows it; LabelMe's circle cannot, the disc is no circle in the equirect
    image. An equator box is no ellipse, but the rectangles fit it; a tool draws one outline,
    so not across the seam in LabelMe."""
    up = np.array([0.0, 1.0, 0.0])
    ahead = np.asarray(E.lonlat_to_vec(30.0, 0.0))
    manhole = _disc(-1.6 * up + 0.7 * ahead, up, 0.3)
    truth = rasterize(manhole, WIDTH, H)

    def tools(parts, mode, truth=None):
        return {t.tool: (t.clicks, t.iou) for t in S.shape_tools(parts, mode, WIDTH, truth)}

    ours, labelme = tools(manhole, "ours", truth), tools(manhole, "labelme", truth)
    assert ours["ellipse"][0] == 3 and ours["ellipse"][1] >= 0.97
    assert labelme["circle"][0] == 2 and labelme["circle"][1] < E.TARGET_IOU
    assert tools(EQUATOR_RECT, "ours")["ellipse"][1] < E.TARGET_IOU
    # the upright rectangle's corners are the truth's: exact, anywhere on the sphere
    assert tools(EQUATOR_RECT, "ours")["rectangle"][1] >= 0.99
    assert tools(SEAM_RECT, "ours")["rectangle"][1] >= 0.99
    assert tools(EQUATOR_RECT, "labelme")["rectangle"][1] >= E.TARGET_IOU
    assert tools(EQUATOR_RECT, "cubemap")["rectangle"][1] >= 0.99  # straight in face F
    assert tools(SEAM_RECT, "labelme") == {"circle": (2, 0.0), "rectangle": (2, 0.0)}


def test_rectangle_then_edit_starts_from_two_corners_and_inserts_on_its_edges():
    """Ours can refine its upright rectangle into a polygon: an upright rectangle is two
    clicks; a hexagon (a box seen at an angle: meridian sides, a higher nearest top corner, a
    lower nearest bottom corner) is the rectangle plus inserted vertices, fewer clicks than
    the polygon alone, and its reference IoU is the independent one."""
    r = S.rectangle_then_edit(EQUATOR_RECT, WIDTH)
    assert (r.clicks, r.reached) == (2, True) and r.iou > 0.99
    hexagon = [
        [[[-12.0, 6.0], [-2.0, 9.0], [12.0, 5.0], [12.0, -5.0], [-2.0, -8.0], [-12.0, -6.0]]]
    ]
    r = S.rectangle_then_edit(hexagon, WIDTH)
    polygon = E.simulate(hexagon, "ours", WIDTH)
    assert r.reached and r.clicks < polygon.clicks, (r.clicks, polygon.clicks)
    assert abs(independent_iou(r, hexagon) - r.iou) < 2e-3
    ((_, xy),) = r.polygons
    assert len(xy) == r.clicks + 2  # two corners come with the rectangle
    # not for an instance in several pieces
    two = hexagon + [[[[20.0, 0.0], [30.0, 0.0], [30.0, 8.0]]]]
    assert S.rectangle_then_edit(two, WIDTH) is None
