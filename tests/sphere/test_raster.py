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
