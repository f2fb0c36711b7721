"""View layouts: every object of the wanted sizes is seen whole and upright somewhere."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.detectors.layout import (
    FOCUS_OVERSAMPLING,
    POLAR_CAP,
    Scale,
    coverage_margin,
    fibonacci_directions,
    focus_view,
    scan_views,
    view_fit,
)
from label360.sphere import View, lonlat_to_vec


def _random_dirs(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize(
    "scale",
    [
        Scale(min_deg=2.5, max_deg=40.0, min_px=20.0, max_tilt=20.0),
        Scale(min_deg=4.0, max_deg=40.0, min_px=32.0, max_tilt=45.0),
    ],
)
def test_every_object_is_seen_whole_and_upright(scale):
    dirs = np.concatenate(
        [
            _random_dirs(6000, 1),
            # poles, seam, and the latitudes of the benchmark
            np.stack(
                [
                    lonlat_to_vec(lon, lat)
                    for lon in (-180, -179.9, 0, 179.9)
                    for lat in (-90, -89, -75, -60, -30, 0, 30, 60, 75, 89, 90)
                ]
            ),
        ]
    )
    for level, views in scan_views(scale, 4096):
        margin = coverage_margin(views, dirs, scale.max_tilt)
        # an object of the level's largest size, centred anywhere, fits whole in some view
        assert margin.min() >= level.max_deg / 2.0, (level, margin.min())
        for view in views:
            assert view.roll == 0.0
            assert view.focal == pytest.approx(level.focal, rel=1e-9)


def test_levels_halve_the_focal_length_and_overlap_in_size():
    scale = Scale(min_deg=2.5, max_deg=40.0, min_px=20.0)
    levels = scale.levels(4096)
    assert levels[0].min_deg == 2.5
    assert levels[-1].max_deg == 40.0
    for a, b in zip(levels, levels[1:], strict=False):
        assert b.min_deg == pytest.approx(2 * a.min_deg)
        assert b.min_deg < a.max_deg  # no size falls between two levels
        assert b.focal == pytest.approx(a.focal / 2)
    # the smallest wanted face is min_px pixels in the finest views
    assert levels[0].focal * math.radians(2.5) == pytest.approx(20.0)


def test_levels_never_oversample_the_panorama():
    scale = Scale(min_deg=1.0, max_deg=40.0, min_px=20.0)
    levels = scale.levels(1024)
    assert levels[0].focal <= 1024 / (2 * math.pi) + 1e-9
    assert levels[0].min_deg == pytest.approx(math.degrees(20.0 / (1024 / (2 * math.pi))))


def test_upright_means_north_is_up():
    view = View(30.0, 70.0, 0.0, 60.0, 100, 100)
    margin, tilt = view_fit(view, lonlat_to_vec(np.array([30.0, 60.0]), np.array([70.0, 60.0])))
    assert tilt[0] < 1e-6  # on the view's own meridian north is straight up
    assert tilt[1] > 20.0  # 30° of longitude away, near the pole, it is not (≈ 30°·sin 60°)
    assert margin[0] == pytest.approx(30.0, abs=1e-6)


def test_polar_cap_has_no_orientation():
    dirs = fibonacci_directions(2000)
    lat = np.degrees(np.arcsin(dirs[:, 1]))
    views = [View(0.0, 90.0, 0.0, 60.0, 64, 64)]
    margin = coverage_margin(views, dirs, max_tilt=1.0)
    assert (margin[np.abs(lat - 90) < POLAR_CAP] > 0).all()


@settings(max_examples=40, deadline=None)
@given(
    lon=st.floats(-180, 180),
    lat=st.floats(-90, 90),
    size=st.floats(0.01, 60),
    width=st.sampled_from([512, 4096, 16384]),
)
def test_focus_view_holds_the_object_at_the_detectors_size(lon, lat, size, width):
    scale = Scale(min_deg=2.5, max_deg=40.0, min_px=20.0, focus_px=80.0)
    view = focus_view(lonlat_to_vec(lon, lat), size, scale, width)
    assert 32 <= view.width <= 1536 and view.width == view.height
    assert view.roll == 0.0
    assert view.focal <= FOCUS_OVERSAMPLING * width / (2 * math.pi) + 1e-6
    # the object, centred, fits whole with room around it (or fills the widest view allowed)
    assert view.hfov >= min(size, 100.0) or view.hfov >= 140.0
