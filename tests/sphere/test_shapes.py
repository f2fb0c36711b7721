"""Ellipses fixed by three clicks in a view (``label360.sphere.shapes``): a real disc's rim,
wherever it sits on the sphere, is followed by the ring made from clicks on its view outline;
the chords stay within half a pixel; clicks that fix no ellipse give None."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from label360.sphere import View, lonlat_to_vec, vec_to_lonlat
from label360.sphere.shapes import SAGITTA_PX, ellipse_ring, ellipse_through, upright_rectangle

UP = lonlat_to_vec(0.0, 90.0)


def rim(centre: np.ndarray, normal: np.ndarray, radius: float, t: np.ndarray) -> np.ndarray:
    """Points of the disc's rim at angles t (radians)."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(normal, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(normal, e1)
    return centre + radius * (np.cos(t)[:, None] * e1 + np.sin(t)[:, None] * e2)


DISCS = {
    "manhole near the nadir": (-1.6 * UP + 0.9 * lonlat_to_vec(40.0, 0.0), UP, 0.35),
    "lamp near the zenith": (1.2 * UP + 0.5 * lonlat_to_vec(-120.0, 0.0), UP, 0.3),
    "wheel across the seam": (
        4 * lonlat_to_vec(179.0, 0.0) - 1.2 * UP,
        lonlat_to_vec(150.0, 0.0),
        0.33,
    ),
    "grazing sign": (6 * lonlat_to_vec(-30.0, 5.0), lonlat_to_vec(50.0, 0.0), 0.4),
}


@pytest.mark.parametrize("name", list(DISCS))
def test_three_outline_clicks_follow_a_discs_rim(name):
    centre, normal, radius = (
        np.asarray(x, float) if not np.isscalar(x) else x for x in DISCS[name]
    )
    look_lon, look_lat = vec_to_lonlat(centre / np.linalg.norm(centre))
    view = View(float(look_lon), float(look_lat), 0.0, 60.0, 900, 700)

    def outline(t: np.ndarray) -> np.ndarray:
        points = rim(centre, normal, radius, t)
        x, y = view.vec_to_pixel(points / np.linalg.norm(points, axis=1, keepdims=True))
        return np.stack([x, y], axis=1)

    def farthest(ta: np.ndarray, tb: np.ndarray) -> tuple[float, float]:
        a, b = outline(ta), outline(tb)
        d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
        i, j = np.unravel_index(int(np.argmax(d)), d.shape)
        return float(ta[i]), float(tb[j])

    # a user clicks the ends of the long axis (the farthest pair of outline points: found on
    # a coarse sampling, then refined around it) and one more outline point
    step = 2 * np.pi / 1440
    t = np.arange(1440) * step
    ti, tj = farthest(t, t)
    for _ in range(3):
        ti, tj = farthest(ti + np.linspace(-step, step, 201), tj + np.linspace(-step, step, 201))
        step /= 100
    ends = outline(np.array([ti, tj, ti + (tj - ti) / 3]))
    clicks = [list(map(float, view.pixel_to_lonlat(*ends[m]))) for m in range(3)]
    ring = np.asarray(ellipse_ring(view, *clicks))
    assert 16 <= len(ring) <= 96
    v = lonlat_to_vec(ring[:, 0], ring[:, 1])
    t = (normal @ centre) / (v @ normal)  # each vertex's ray meets the disc's plane at t·v
    dist = np.linalg.norm(t[:, None] * v - centre, axis=1)
    assert np.abs(dist - radius).max() < 1e-4 * radius


@settings(max_examples=60, deadline=None)
@given(
    st.floats(5, 700),
    st.floats(0.05, 1.0),
    st.floats(0, 2 * math.pi),
    st.floats(0.05, 0.95),
)
def test_ellipse_through_passes_the_clicks_and_keeps_chords_within_half_a_pixel(
    half, ratio, angle, frac
):
    u = np.array([math.cos(angle), math.sin(angle)])
    w = np.array([-u[1], u[0]])
    centre = np.array([400.0, 300.0])
    other = max(3.0, half * ratio)
    phi = math.acos(2 * frac - 1)  # a third click anywhere on the outline off the axis's ends
    a, b = centre - half * u, centre + half * u
    p = centre + half * math.cos(phi) * u + other * math.sin(phi) * w
    pts = ellipse_through(a, b, p)
    assert pts is not None
    rel = pts - centre
    ex, ey = rel @ u, rel @ w
    assert np.allclose((ex / half) ** 2 + (ey / other) ** 2, 1.0, atol=1e-9)
    # the largest gap of each chord: between its midpoint and the curve at the mid-angle
    n = len(pts)
    mid = (pts + np.roll(pts, -1, axis=0)) / 2
    t = 2 * np.pi * (np.arange(n) + 0.5) / n
    curve = centre + (half * np.cos(t))[:, None] * u + (other * np.sin(t))[:, None] * w
    assert np.linalg.norm(curve - mid, axis=1).max() <= SAGITTA_PX + 1e-9 or n == 96


def test_clicks_that_fix_no_ellipse():
    assert ellipse_through((0, 0), (100, 0), (50, 0)) is None  # on the axis
    assert ellipse_through((0, 0), (100, 0), (120, 10)) is None  # beyond the axis's end
    assert ellipse_through((0, 0), (0.5, 0), (0, 10)) is None  # no axis
    view = View(0.0, 0.0, 0.0, 90.0, 200, 200)
    assert ellipse_ring(view, (0.0, 0.0), (10.0, 0.0), (180.0, 0.0)) is None  # behind


def test_an_upright_rectangle_is_an_upright_face_seen_square_on():
    """A door 3 m away at azimuth 70°, 0.9 m wide, from 1.6 m below the eye to 0.4 m above:
    two clicks at diagonal corners give the four corners of the door; its edges are the
    door's (every straight 3-D edge is a great circle), and a level view centred on it shows
    an axis-aligned rectangle."""
    centre = 3.0 * lonlat_to_vec(70.0, 0.0)
    right = np.cross(lonlat_to_vec(70.0, 0.0), UP)
    corners = [
        centre + s * 0.45 * right + h * UP for s, h in ((-1, 0.4), (1, 0.4), (1, -1.6), (-1, -1.6))
    ]
    lonlat = [list(map(float, vec_to_lonlat(c / np.linalg.norm(c)))) for c in corners]
    ring = upright_rectangle(lonlat[0], lonlat[2])
    assert np.allclose(ring, lonlat, atol=1e-9)
    view = View(70.0, 0.0, 0.0, 60.0, 800, 600)
    x, y = view.lonlat_to_pixel(*np.asarray(ring).T)
    assert np.isclose(x[0], x[3]) and np.isclose(x[1], x[2])
    assert np.isclose(y[0], y[1]) and np.isclose(y[2], y[3])


def test_upright_rectangle_goes_the_short_way_and_refuses_degenerate_corners():
    ring = upright_rectangle((170.0, 10.0), (-175.0, -3.0))  # across the seam: 15° wide
    assert ring == [[170.0, 10.0], [-175.0, 10.0], [-175.0, -3.0], [170.0, -3.0]]
    for a, b in [
        ((0.0, 0.0), (0.0, 10.0)),  # one meridian
        ((10.0, 5.0), (40.0, 5.0)),  # one latitude
        ((-90.0, 0.0), (90.0, 10.0)),  # half the sphere apart
        ((20.0, 89.95), (40.0, 10.0)),  # a corner on the pole
    ]:
        assert upright_rectangle(a, b) is None
