"""Ring validation by the longitude sweep: the same answer as testing every pair of arcs,
no false crossings for collinear arcs, bounded input sizes, union area of overlapping parts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from label360.sphere import (
    area,
    geometry_problems,
    intersection,
    mask_to_geometry,
    rasterize,
    union,
)
from label360.sphere.polygons import (
    DUPLICATE_EPS,
    MAX_GEOMETRY_VERTICES,
    MAX_RING_VERTICES,
    centroid,
    ring_vectors,
)
from label360.sphere.sweep import arcs_meet, first_meeting
from label360.sphere.vectors import lonlat_to_vec


def _closed(n: int) -> np.ndarray:
    return (np.arange(n) + 1) % n


def _every_pair_meets(v: np.ndarray) -> bool:
    """Reference: test all non-adjacent pairs of arcs (quadratic)."""
    n = len(v)
    nxt = _closed(n)
    i, j = np.triu_indices(n, 1)
    keep = (nxt[i] != j) & (nxt[j] != i)
    return bool(arcs_meet(v, i[keep], j[keep], nxt, DUPLICATE_EPS).any())


def _simple_checks_pass(ring: list) -> bool:
    """Rings the sweep is asked about: those passing validation's O(n) checks."""
    probs = geometry_problems([[ring]])
    return not any(
        w in p.reason
        for p in probs
        for w in ("duplicates", "antipodal", "folds back", "range", "NaN", "needs at least")
    )


coord_sets = st.sampled_from(
    [
        # a coarse grid: repeated vertices, collinear and overlapping edges, touching points
        (st.sampled_from([-20.0, -10.0, 0.0, 10.0, 20.0]), st.sampled_from([-10.0, 0.0, 10.0])),
        # at the seam
        (st.sampled_from([170.0, 175.0, 180.0, -180.0, -175.0]), st.sampled_from([0.0, 10.0])),
        # around a pole, with vertices on it
        (st.sampled_from([0.0, 90.0, 180.0, -90.0, 45.0]), st.sampled_from([70.0, 80.0, 90.0])),
        # meridian pieces (LabelMe rectangles densified along a column)
        (st.sampled_from([0.0, 1.0, 2.0]), st.sampled_from([-3.0, -1.0, 0.0, 1.0, 3.0])),
        (st.floats(-180, 180), st.floats(-89, 89)),
    ]
)


@st.composite
def rings(draw):
    lon_s, lat_s = draw(coord_sets)
    n = draw(st.integers(4, 12))
    return [[draw(lon_s), draw(lat_s)] for _ in range(n)]


@settings(max_examples=600, deadline=None)
@given(rings())
def test_sweep_agrees_with_every_pair(ring):
    if not _simple_checks_pass(ring):
        return
    v = ring_vectors(np.asarray(ring, dtype=float))
    found = first_meeting(v, _closed(len(v)), DUPLICATE_EPS)
    assert (found is not None) == _every_pair_meets(v), ring
    if found is not None:  # what the sweep reports really meets
        nxt = _closed(len(v))
        assert arcs_meet(v, [found[0]], [found[1]], nxt, DUPLICATE_EPS)[0]


@settings(max_examples=60, deadline=None)
@given(st.integers(50, 400), st.integers(0, 2**32 - 1))
def test_sweep_agrees_on_long_random_rings(n, seed):
    rng = np.random.default_rng(seed)
    # a wobbly star (valid) or a random walk (usually crossing itself)
    t = np.sort(rng.uniform(0, 2 * math.pi, n))
    if seed % 2:
        r = 10.0 * (0.5 + 0.5 * rng.uniform(size=n))
    else:
        r = 10.0 * (0.95 + 0.05 * np.sin(3 * t))
    ring = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    v = lonlat_to_vec(ring[:, 0], ring[:, 1])
    assert (first_meeting(v, _closed(n), DUPLICATE_EPS) is not None) == _every_pair_meets(v)


def _densified_rectangle(x0, y0, x1, y1, width, height, step=2.0):
    """A LabelMe rectangle (straight in pixels) densified every `step` px, as (lon, lat)."""
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    out = []
    for k in range(4):
        (u0, v0), (u1, v1) = corners[k], corners[(k + 1) % 4]
        steps = max(1, math.ceil(math.hypot(u1 - u0, v1 - v0) / step))
        for s in range(steps):
            t = s / steps
            u, v = u0 + (u1 - u0) * t, v0 + (v1 - v0) * t
            out.append([u / width * 360.0 - 180.0, 90.0 - v / height * 180.0])
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 2000),
    st.integers(1, 1000),
    st.integers(3, 600),
    st.integers(3, 500),
    st.booleans(),
    st.floats(0, 0.999),
)
def test_densified_rectangles_are_valid(x, y, w, h, floating, frac):
    """Rectangles densified along meridians and parallels: many collinear arcs on one
    meridian that do not overlap, which must never count as crossing."""
    width, height = 2048, 1024
    x0, y0 = float(x) + (frac if floating else 0.0), float(y) + (frac if floating else 0.0)
    x1, y1 = min(x0 + w, width - 1e-3), min(y0 + h, height - 1e-3)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return
    ring = _densified_rectangle(x0, y0, x1, y1, width, height)
    assert geometry_problems([[ring]]) == []


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_polygons_traced_from_masks_are_valid(seed):
    rng = np.random.default_rng(seed)
    w, h = 96, 48
    mask = np.zeros((h, w), dtype=bool)
    for _ in range(int(rng.integers(1, 6))):
        x, y = int(rng.integers(0, w)), int(rng.integers(2, h - 2))
        a, b = int(rng.integers(1, 20)), int(rng.integers(1, 10))
        cols = np.arange(x, x + a) % w
        mask[y : y + b, cols] = True
    geometry = mask_to_geometry(mask, tolerance_deg=0.0)
    assert geometry_problems(geometry) == []
    assert (np.asarray(rasterize(geometry, w, h)) == mask).all()


def test_collinear_disjoint_arcs_on_one_meridian_do_not_cross():
    # edges 0->1 and 2->3 lie on the meridian lon=10, disjoint: a valid thin "U"
    ring = [[10, 0], [10, 5], [12, 5], [12, 6], [10, 6], [10, 10], [15, 10], [15, 0]]
    assert geometry_problems(ring) == []
    v = ring_vectors(np.asarray(ring, dtype=float))
    assert not _every_pair_meets(v)


def test_long_self_crossing_ring_is_refused_quickly():
    rng = np.random.default_rng(1)
    ring = rng.uniform(-50, 50, (MAX_RING_VERTICES, 2)).tolist()
    probs = geometry_problems([[ring]])
    assert probs and "crosses itself" in probs[0].reason


def test_vertex_limits():
    t = np.linspace(0, 2 * math.pi, MAX_RING_VERTICES + 1, endpoint=False)
    ring = np.stack([10 * np.cos(t), 10 * np.sin(t)], axis=1).tolist()
    (p,) = geometry_problems([[ring]])
    assert f"at most {MAX_RING_VERTICES}" in p.reason
    small = np.stack([np.cos(t[:1000]), np.sin(t[:1000])], axis=1)
    parts = [[(small + [3.0 * k - 150, 0]).tolist()] for k in range(101)]
    (p,) = geometry_problems(parts)
    assert f"at most {MAX_GEOMETRY_VERTICES}" in p.reason


def test_many_holes_are_checked_against_each_other():
    outer = [[-30.0, -30.0], [30.0, -30.0], [30.0, 30.0], [-30.0, 30.0]]
    holes = []
    for i in range(20):
        for j in range(20):
            x, y = -28 + 2.8 * i, -28 + 2.8 * j
            holes.append([[x, y], [x, y + 1], [x + 1, y + 1], [x + 1, y]])
    assert geometry_problems([[outer, *holes]]) == []
    holes[5] = [[x + 0.2, y + 0.2] for x, y in holes[4]]  # overlaps hole 5 (ring 5)
    probs = geometry_problems([[outer, *holes]])
    assert len(probs) == 1 and probs[0].ring == 6 and "hole 5" in probs[0].reason


def test_overlapping_parts_count_once_in_area_and_centroid():
    a = [[0.0, 0.0], [20.0, 0.0], [20.0, 20.0], [0.0, 20.0]]
    b = [[10.0, 0.0], [30.0, 0.0], [30.0, 20.0], [10.0, 20.0]]
    overlap = area(intersection(a, b))
    assert overlap > 0.2 * area(a)
    assert area([[a], [b]]) == pytest.approx(area(a) + area(b) - overlap, rel=1e-9)
    assert centroid([[a], [b]]) == pytest.approx(centroid(union([a, b])), abs=1e-9)
    inner = [[5.0, 5.0], [6.0, 5.0], [6.0, 6.0]]
    assert area([[a], [inner]]) == pytest.approx(area(a), rel=1e-9)
    apart = [[100.0, 0.0], [110.0, 0.0], [110.0, 10.0]]
    assert area([[a], [apart]]) == pytest.approx(area(a) + area(apart), rel=1e-12)
