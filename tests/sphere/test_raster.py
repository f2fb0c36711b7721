import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from label360.sphere import column_intervals, label_map, rasterize

from .conftest import near_boundary, pixel_centres, reference_inside, star_polygons

SIZES = st.sampled_from([(64, 32), (200, 100), (361, 180), (720, 360)])


def check(geometry, refs, w, h):
    lon2, lat2 = pixel_centres(w, h)
    expect = np.zeros((h, w), dtype=bool)
    for poly, centre in refs:
        expect |= reference_inside(poly, centre, lon2, lat2)
    got = rasterize(geometry, w, h)
    assert got.shape == (h, w) and got.dtype == bool
    diff = got != expect
    diff &= ~near_boundary(geometry, lon2, lat2)
    assert diff.sum() == 0, f"{diff.sum()} wrong pixels"
    return got


@settings(max_examples=40, deadline=None)
@given(star_polygons(max_radius=85.0), SIZES)
def test_rasterize_matches_brute_force(pc, size):
    poly, centre = pc
    check([poly], [pc], *size)


@settings(max_examples=15, deadline=None)
@given(st.lists(star_polygons(max_radius=40.0), min_size=2, max_size=3), SIZES)
def test_rasterize_multi_part(pcs, size):
    geometry = [p for p, _ in pcs]
    got = check(geometry, pcs, *size)
    runs = column_intervals(geometry, *size)
    assert (np.diff(runs[:, 0]) >= 0).all()
    rebuilt = np.zeros(size[::-1], dtype=bool)
    for c, s, e in runs:
        assert not rebuilt[s:e, c].any()  # runs are disjoint after merging
        rebuilt[s:e, c] = True
    assert (rebuilt == got).all()


@pytest.mark.parametrize(
    "geometry",
    [
        [[[170, -10], [-170, -10], [-170, 10], [170, 10]]],  # across the seam
        [[[0, 60], [90, 60], [180 - 1e-7, 60], [-90, 60]]],  # around the north pole
        [[[0, -60], [-90, -60], [-180, -60], [90, -60]]],  # around the south pole
        [[[-20, 70], [-10, 70], [155, 75], [165, 75]]],  # strip over the pole
        [[[0, 80], [180, 80], [90, 60]]],  # an edge through the north pole
        [[[0, 90], [0, 60], [90, 60]]],  # a vertex at the north pole
        [[[10, -90], [100, -50], [-60, -50]]],  # a vertex at the south pole
        [[[0, -60], [120, -60], [-120, -60]], [[0, -80], [-120, -80], [120, -80]]],  # hole
    ],
)
def test_rasterize_special_places(geometry):
    from label360.sphere import contains

    w, h = 360, 180
    lon2, lat2 = pixel_centres(w, h)
    expect = contains(geometry, lon2, lat2)
    got = rasterize(geometry, w, h)
    diff = (got != expect) & ~near_boundary(geometry, lon2, lat2)
    assert diff.sum() == 0
    assert got.sum() > 0


def test_label_map_order():
    a = [[[-10, -10], [10, -10], [10, 10], [-10, 10]]]
    b = [[[0, -5], [20, -5], [20, 5], [0, 5]]]
    lm = label_map([a, b], 360, 180)
    assert lm.dtype == np.int32
    ra, rb = rasterize(a, 360, 180), rasterize(b, 360, 180)
    assert (lm[rb] == 2).all()
    assert (lm[ra & ~rb] == 1).all()
    assert (lm[~ra & ~rb] == 0).all()


# --- degenerate geometry: meridian edges, pixel-centre coordinates, seam, poles ------------

from hypothesis import assume  # noqa: E402

from label360.sphere import contains, geometry_problems  # noqa: E402
from label360.sphere.raster import row_intervals  # noqa: E402

from .conftest import (  # noqa: E402
    meridian_boxes,
    near_arcs,
    polar_caps,
    reference_mask_east,
    ulps,
)

GRID = st.sampled_from([(64, 32), (200, 100), (361, 180)])


def check_east_rule(geometry, w, h):
    """rasterize == east-shifted brute force except centres within 1e-9 rad of a non-meridian
    edge; contains() == brute force away from every edge; column/row intervals agree."""
    got = rasterize(geometry, w, h)
    expect = reference_mask_east(geometry, w, h)
    assume(expect is not None)
    near = near_arcs(geometry, w, h)
    diff = (got != expect) & ~near
    assert diff.sum() == 0, f"{diff.sum()} wrong pixels at {np.argwhere(diff)[:5].tolist()}"
    assert (rasterize(geometry, w, h, validate=False) == got).all()
    lon2, lat2 = pixel_centres(w, h)
    away = ~near_boundary(geometry, lon2, lat2, 1e-9)
    inside = contains(geometry, lon2, lat2)
    assert ((inside != expect) & away).sum() == 0
    rows = row_intervals(geometry, w, h)
    rebuilt = np.zeros((h, w), dtype=bool)
    for r, s, e in rows:
        rebuilt[r, s:e] = True
    assert (rebuilt == got).all()


@settings(max_examples=60, deadline=None)
@given(st.data(), GRID)
def test_meridian_boxes(data, size):
    w, h = size
    ring = data.draw(meridian_boxes(w, h))
    assume(not geometry_problems(ring))
    check_east_rule([[ring]], w, h)


@settings(max_examples=40, deadline=None)
@given(st.data(), GRID)
def test_polar_caps(data, size):
    w, h = size
    ring = data.draw(polar_caps(w, h))
    assume(not geometry_problems(ring))
    check_east_rule([[ring]], w, h)
    for lat in (90.0, -90.0):  # the pole itself, against the reference
        lon2, lat2 = np.array([[0.0]]), np.array([[lat]])
        if not near_boundary([[ring]], lon2, lat2, 1e-9).any():
            v = np.array(ring)
            from .conftest import reference_inside

            c = (0.0, 90.0 if v[:, 1].mean() > 0 else -90.0)
            assert contains(ring, 0.0, lat) == reference_inside([ring], c, lon2, lat2)[0, 0]


def test_meridian_regressions():
    # a level-camera box edge: two vertices with exactly equal longitude (north pole test
    # walked along the meridian edge's great circle and gave the whole sphere)
    ring = [
        [171.3211858589848, -2.9227558599071153],
        [171.69957084142203, -2.9255865543221455],
        [172.58326219894258, -2.6111935454615196],
        [172.58326219894258, -2.2548565092290627],
    ]
    assert rasterize([[ring]], 512, 256).sum() == 0
    assert not contains(ring, 0, 90) and not contains(ring, 0, -90)
    # longitudes one ulp apart (the seam-wrap test rounded their difference to 0 and counted
    # the edge as crossing all columns)
    a, b = 16.11462977298381, 16.114629772983815
    assert ulps(a, 1) == b
    box = [[a, -10.0], [20.0, -10.0], [20.0, 10.0], [b, 10.0]]
    for w, h in ((512, 256), (1024, 512)):
        got = rasterize(box, w, h)
        expect = reference_mask_east([[box]], w, h)
        assert ((got != expect) & ~near_arcs([[box]], w, h)).sum() == 0
        assert abs(int(got.sum()) - int(expect.sum())) <= h // 8


def test_meridian_tie_rule():
    # box with both meridian edges exactly on pixel-centre longitudes and its corners exactly
    # on pixel centres: the west edge's centres are in, the east edge's out (east rule)
    w, h = 360, 180
    lon = lambda c: (c + 0.5) / w * 360 - 180  # noqa: E731
    lat = lambda r: 90 - (r + 0.5) / h * 180  # noqa: E731
    ring = [[lon(100), lat(95)], [lon(110), lat(95)], [lon(110), lat(85)], [lon(100), lat(85)]]
    m = rasterize(ring, w, h)
    assert m[86:95, 100].all() and not m[:, 110].any()
    assert m[:, 101:110].any(axis=0).all()
    # a corner exactly at a pixel centre: the crossing counts as above the row (south rule);
    # the top edge bulges north, so (col 100, row 85) is on the boundary and counts as inside
    assert m[85, 100] and not m[84, 100]
    # bottom corner: the pixel at the corner's row is below the crossing -> outside
    assert not m[95, 100]


# --- fast paths: validity pre-check, north-pole state, fill ---------------------------------

from label360.sphere import GeometryError, validate_geometry  # noqa: E402
from label360.sphere import raster as raster_mod  # noqa: E402
from label360.sphere.kernels import fill_runs, ring_clearly_valid  # noqa: E402
from label360.sphere.polygons import contains_vec  # noqa: E402
from label360.sphere.vectors import lonlat_to_vec, vec_to_lonlat  # noqa: E402

from .conftest import star_ring  # noqa: E402


@st.composite
def rough_rings(draw):
    """Rings that are often invalid, or valid only by a hair: random vertex orders (crossings),
    near-duplicate or inserted collinear vertices (touching, spikes), near-antipodal edges,
    hemisphere-sized rings, tiny rings; coordinates perturbed by 1e-16..1e-6 degrees."""
    lon = draw(st.floats(-180, 180))
    lat = draw(st.floats(-90, 90))
    n = draw(st.integers(3, 12))
    r = 10 ** draw(st.floats(-7, 2.1))
    ring = np.array(star_ring(lon, lat, [r * draw(st.floats(0.3, 1.0)) for _ in range(n)]))
    kind = draw(st.sampled_from(["star", "shuffle", "dup", "collinear", "far", "snap"]))
    k = draw(st.integers(0, n - 1))
    eps = 10 ** draw(st.floats(-16, -6))
    if kind == "shuffle":
        ring = ring[draw(st.permutations(list(range(n))))]
    elif kind == "dup":
        ring = np.insert(ring, k, ring[k] + eps, axis=0)
    elif kind == "collinear":  # a point on edge k (or near it) inserted elsewhere
        a, b = lonlat_to_vec(*ring[k]), lonlat_to_vec(*ring[(k + 1) % n])
        t = draw(st.floats(0.0, 1.0))
        lo, la = vec_to_lonlat((1 - t) * a + t * b)
        at = draw(st.integers(0, n))
        ring = np.insert(ring, at, [float(lo) + eps, float(la)], axis=0)
    elif kind == "far":  # a vertex moved next to the antipode of its neighbour
        lo, la = vec_to_lonlat(-lonlat_to_vec(*ring[k]))
        ring[(k + 1) % n] = [float(lo), float(la) + eps]
    elif kind == "snap":  # coordinates on a coarse grid: collinear and repeated vertices
        scale = draw(st.sampled_from([0.2, 1.0, 10.0]))
        ring = np.round(ring * scale) / scale
    ring[:, 0] = np.clip(ring[:, 0], -180, 180)
    ring[:, 1] = np.clip(ring[:, 1], -90, 90)
    return ring


@settings(max_examples=400, deadline=None)
@given(rough_rings())
def test_clearly_valid_is_sound(ring):
    # the pre-check may only skip validate_geometry where it would find nothing
    if ring_clearly_valid(ring):
        assert geometry_problems([[ring.tolist()]]) == []


def test_clearly_valid_accepts_ordinary_rings():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(3, 40))
        radii = rng.uniform(0.3, 1.0, n) * 10 ** rng.uniform(-3, 1.9)
        ring = np.array(star_ring(rng.uniform(-180, 180), rng.uniform(-90, 90), radii))
        assert ring_clearly_valid(ring)


@pytest.mark.parametrize(
    "geometry",
    [
        [[[0, 0], [10, 10], [10, 0], [0, 10]]],  # bow-tie
        [[[0, 0], [10, 0], [10, 10], [10, 10], [0, 10]]],  # repeated vertex
        [[[0, 0], [10, 0], [5, 0], [5, 10]]],  # spike back along an edge
        [[[0, 0], [10, 0], [10, 10], [5, 0], [0, 10]]],  # vertex on an edge
        [[[0, 0], [10, 0], [200, 10]]],  # longitude out of range
        [[[0, 0], [10, 0], [10, 10], [0, 10]], [[20, 1], [21, 1], [21, 2]]],  # hole outside
    ],
)
def test_rasterize_still_validates(geometry):
    with pytest.raises(GeometryError) as fast:
        rasterize(geometry, 64, 32)
    with pytest.raises(GeometryError) as full:
        validate_geometry(geometry)
    assert str(fast.value) == str(full.value)


@settings(max_examples=200, deadline=None)
@given(st.floats(-180, 180), st.floats(-89.9, 89.9), st.integers(3, 15), st.floats(1.0, 85.0))
def test_north_pole_winding_matches_contains(lon, lat, n, r):
    ring = np.array(star_ring(lon, lat, [r] * n, 0.3))
    assume(not geometry_problems([[ring.tolist()]]))
    ext, d, vec = raster_mod._ring_edges(ring)
    assume(not raster_mod._ring_degenerate(ext, d))
    pole = np.array([[0.0, 1.0, 0.0]])
    for ring_ in (ring, ring[::-1]):  # either orientation
        ext, d, vec = raster_mod._ring_edges(ring_)
        expect = contains_vec([[ring_]], pole)[0]
        assert raster_mod._north_pole_in_ring(d, vec) == expect


def test_fill_runs_writes_exactly_the_runs():
    # scattered columns and runs across the seam, into a mask and a label map (later runs
    # overwrite earlier ones, as label_map's painter's order needs)
    rng = np.random.default_rng(0)
    w, h = 300, 50
    cols = np.sort(np.concatenate([rng.integers(0, 20, 40), rng.integers(280, 300, 40), [150]]))
    start = rng.integers(0, h - 1, len(cols))
    end = start + rng.integers(1, h - start + 1)
    buf = np.zeros((w, h), dtype=bool)
    fill_runs(buf, cols, start, end, True)
    labels = np.zeros((w, h), dtype=np.int32)
    for k in range(len(cols)):
        fill_runs(labels, cols[k : k + 1], start[k : k + 1], end[k : k + 1], np.int32(k + 1))
    expect = np.zeros((w, h), dtype=bool)
    expect_labels = np.zeros((w, h), dtype=np.int32)
    for k, (ci, si, ei) in enumerate(zip(cols, start, end, strict=True)):
        expect[ci, si:ei] = True
        expect_labels[ci, si:ei] = k + 1
    assert (buf == expect).all()
    assert (labels == expect_labels).all()


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_validate_false_still_refuses_non_finite_vertices(bad):
    with pytest.raises(GeometryError, match="NaN or infinite"):
        rasterize([[[0, 0], [bad, 0], [10, 10], [0, 10]]], 360, 180, validate=False)
    with pytest.raises(GeometryError, match="NaN or infinite"):
        column_intervals([[[0, 0], [10, 0], [10, bad]]], 360, 180, validate=False)
