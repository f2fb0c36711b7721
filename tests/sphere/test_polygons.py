import math

import numpy as np
import pytest
from hypothesis import given, settings

from label360.sphere import (
    GeometryError,
    area,
    centroid,
    contains,
    geometry_problems,
    validate_geometry,
)

from .conftest import lhuilier_star_area, pixel_centres, reference_inside, star_polygons

SQUARE = [[-10, -10], [10, -10], [10, 10], [-10, 10]]


@pytest.mark.parametrize(
    "geom, fragment",
    [
        ([[0, 0], [180, 0], [10, 10]], "antipodal"),
        ([[0, 0], [float("nan"), 0], [10, 10]], "NaN"),
        ([[0, 0], [float("inf"), 0], [10, 10]], "NaN"),
        ([[0, 0], [10, 0]], "at least 3"),
        ([[0, 0], [10, 0], [0, 10], [10, 10]], "crosses itself"),
        ([[0, 0], [0, 0], [10, 0], [0, 10]], "duplicates"),
        ([[0, 0], [10, 0], [5, 0], [5, 5]], "folds back"),
        ([[0, 0], [200, 0], [0, 10]], "longitude"),
        ([[0, 0], [10, 0], [0, 95]], "latitude"),
        ([[0, 0], [120, 0], [-120, 0]], "hemisphere"),
        ([[SQUARE, [[20, 20], [25, 20], [25, 25]]]], "outside the outer"),
        ([[0, 0], [10, 0], [10, 10], [0, 10], [10, 10]], "folds back"),  # issue example
        ([[0, 0], [10, 0], [5, 5], [10, 10], [0, 10], [5, 5]], "vertex 2 repeats vertex 5"),
        ([[0, 0], [10, 0], [10, 10], [5, 0], [0, 10]], "vertex 3 lies on edge 0->1"),
        ([[0, 0], [4, 0], [4, 1], [3, 1], [3, 0], [2, 0], [2, -1]], "overlap along the same"),
        ([[SQUARE, [[-10, 0], [0, -5], [0, 5]]]], "hole touches the outer ring"),
        ([[SQUARE, [[-5, 0], [0, -5], [0, 5]], [[0, 5], [3, 3], [3, 6]]]], "touches hole 1"),
        ([[SQUARE, [[-5, 0], [0, -5], [0, 5]], [[-1, 0], [-0.5, -1], [1, 1]]]], "crosses hole 1"),
        ([[SQUARE, [[-5, 0], [0, -5], [0, 5]], [[-1, 0], [-0.5, -1], [-0.5, 1]]]], "inside hole 1"),
        ([[SQUARE, [[0, -12], [5, 0], [0, 5]]]], "hole crosses the outer ring"),
        ("nonsense", "nest"),
    ],
)
def test_invalid_raises(geom, fragment):
    with pytest.raises(GeometryError) as exc:
        validate_geometry(geom)
    assert fragment in str(exc.value)
    assert isinstance(exc.value, ValueError)
    assert exc.value.reason and exc.value.part == 0
    assert fragment in exc.value.reason or fragment == "nest"
    assert geometry_problems(geom)
    # never a wrong answer: consumers raise too
    with pytest.raises(ValueError):
        area(geom)


def test_error_attributes():
    with pytest.raises(GeometryError) as exc:
        validate_geometry([[SQUARE], [[[0, 0], [180, 0], [10, 10]]]])
    assert (exc.value.part, exc.value.ring, exc.value.vertex) == (1, 0, 0)


def test_problem_list_collects_all():
    probs = geometry_problems([[[[0, 0], [10, 0]]], [[[0, 0], [float("nan"), 1], [1, 1]]]])
    assert {p.part for p in probs} == {0, 1}


def test_area_basic():
    # spherical cap of colatitude 10 deg approximated by a fine polygon
    n = 2000
    ring = [[360 * k / n - 180, 80.0] for k in range(n)]
    cap = 2 * math.pi * (1 - math.cos(math.radians(10)))
    assert area(ring) == pytest.approx(cap, rel=1e-5)
    # octant: exactly pi/2
    assert area([[0, 0], [90, 0], [0, 90]]) == pytest.approx(math.pi / 2, rel=1e-12)
    # orientation does not matter; tiny polygons keep relative precision
    tiny = [[10, 10], [10 + 1e-7, 10], [10, 10 + 1e-7]]
    expect = 0.5 * math.radians(1e-7) ** 2 * math.cos(math.radians(10))
    assert area(tiny) == pytest.approx(expect, rel=1e-6)
    assert area(tiny[::-1]) == pytest.approx(expect, rel=1e-6)
    # nearly a hemisphere
    ring = [[360 * k / 400 - 180, 0.5] for k in range(400)]
    assert area(ring) == pytest.approx(2 * math.pi * (1 - math.sin(math.radians(0.5))), rel=1e-4)


def test_area_with_hole_and_parts():
    hole = [[-5, -5], [-5, 5], [5, 5], [5, -5]]
    a = area([[SQUARE, hole]])
    assert a == pytest.approx(area(SQUARE) - area(hole), rel=1e-12)
    other = [[100, 0], [110, 0], [105, 10]]
    assert area([[SQUARE], [other]]) == pytest.approx(area(SQUARE) + area(other), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(star_polygons(max_radius=80.0, min_radius=1e-4, holes=False))
def test_area_matches_lhuilier(pc):
    poly, centre = pc
    assert area(poly[0]) == pytest.approx(lhuilier_star_area(poly[0], centre), rel=1e-9, abs=1e-15)


@settings(max_examples=40, deadline=None)
@given(star_polygons(max_radius=80.0, min_radius=1e-4, holes=False))
def test_signed_area_flips_with_the_ring_direction(pc):
    from label360.sphere.polygons import ring_signed_area, ring_vectors

    (ring,), centre = pc
    v = ring_vectors(np.asarray(ring, np.float64))
    forward = ring_signed_area(v)
    assert abs(forward) == pytest.approx(lhuilier_star_area(ring, centre), rel=1e-9, abs=1e-15)
    # a reversed view (not contiguous) is read as such: the same area, the other sign
    assert ring_signed_area(v[::-1]) == pytest.approx(-forward, rel=1e-12, abs=1e-18)


@settings(max_examples=10, deadline=None)
@given(star_polygons(max_radius=60.0, min_radius=5.0))
def test_area_matches_numerical_integration(pc):
    poly, centre = pc
    w, h = 1440, 720
    lon2, lat2 = pixel_centres(w, h)
    inside = reference_inside(poly, centre, lon2, lat2)
    dlon, dlat = math.radians(360 / w), math.radians(180 / h)
    # exact integral of cos(lat) over each pixel row band
    edges = np.radians(90 - np.arange(h + 1) * 180 / h)
    band = (np.sin(edges[:-1]) - np.sin(edges[1:])) * dlon
    approx = float((inside * band[:, None]).sum())
    perim_px = 2 * math.pi * math.radians(60) / dlat
    assert area([poly]) == pytest.approx(approx, abs=perim_px * dlat * dlat * 2 + 1e-6)


@settings(max_examples=40, deadline=None)
@given(star_polygons(max_radius=80.0))
def test_contains_matches_reference(pc):
    poly, centre = pc
    rng = np.random.default_rng(0)
    lon = rng.uniform(-180, 180, 400)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 400)))
    ours = contains([poly], lon, lat)
    ref = reference_inside(poly, centre, lon, lat)
    assert (ours == ref).all()
    assert contains([poly], *centre) == (len(poly) == 1)


def test_contains_poles_and_seam():
    cap = [[0, 70], [120, 70], [-120, 70]]
    assert contains(cap, 0, 90) and contains(cap, 123, 89) and not contains(cap, 0, -90)
    seam = [[170, -10], [-170, -10], [-170, 10], [170, 10]]
    assert contains(seam, 180 - 1e-6, 0) and contains(seam, -180, 0) and not contains(seam, 0, 0)


def test_centroid():
    lon, lat = centroid(SQUARE)
    assert (lon, lat) == pytest.approx((0, 0), abs=1e-12)
    lon, lat = centroid([[170, -10], [-170, -10], [-170, 10], [170, 10]])
    assert abs(abs(lon) - 180) < 1e-9 and abs(lat) < 1e-9
    lon, lat = centroid([[0, 70], [120, 70], [-120, 70]])
    assert lat == pytest.approx(90, abs=1e-9)
