"""Privacy blur on the sphere: only the regions change, and a face near a pole is blurred as
a face (in its own view), not as a stretched equirect band."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.detectors.blur import (
    MAX_RADIUS,
    _cap,
    blur_regions,
    expand_geometry,
    strong_blur,
)
from label360.sphere import View, area, rasterize, validate_geometry

W, H = 256, 128


def _quad(lon, lat, half, roll):
    view = View(lon, lat, roll, 2 * half, 8, 8)
    lo, la = view.pixel_to_lonlat(
        np.array([-0.5, 7.5, 7.5, -0.5]), np.array([-0.5, -0.5, 7.5, 7.5])
    )
    return [[np.stack([lo, la], axis=1).tolist()]]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [None, 3, 4])
def test_pixels_outside_the_regions_are_bit_identical(dtype, channels):
    rng = np.random.default_rng(7)
    shape = (H, W) if channels is None else (H, W, channels)
    hi = 1.0 if dtype == np.float32 else np.iinfo(dtype).max
    image = (rng.random(shape) * hi).astype(dtype)
    regions = [_quad(179.0, 5.0, 12.0, 0.0), _quad(40.0, 84.0, 9.0, 20.0), _quad(-90, -88, 5, 0)]
    out, written = blur_regions(image, regions)
    inside = np.zeros((H, W), bool)
    for g in regions:
        inside |= rasterize(g, W, H)
    assert out.dtype == image.dtype and out.shape == image.shape
    assert np.array_equal(out[~inside], image[~inside])
    assert written >= inside.sum()
    # noise inside is smoothed away
    assert out[inside].astype(np.float64).std() < 0.3 * image[inside].astype(np.float64).std()


@settings(max_examples=25, deadline=None)
@given(
    lon=st.floats(-180, 179.99),
    lat=st.floats(-90, 90),
    half=st.floats(0.5, 40.0),
    roll=st.floats(-45, 45),
)
def test_any_region_anywhere_changes_only_its_pixels(lon, lat, half, roll):
    image = np.random.default_rng(1).integers(0, 255, (H, W, 3), dtype=np.uint8)
    region = _quad(lon, lat, half, roll)
    out, _ = blur_regions(image, [region])
    inside = rasterize(region, W, H)
    assert np.array_equal(out[~inside], image[~inside])


def test_large_regions_are_split_by_cube_faces():
    image = np.random.default_rng(2).integers(0, 255, (H, W, 3), dtype=np.uint8)
    band = [
        [
            [
                [-170.0, -30.0],
                [-10.0, -30.0],
                [170.0, -30.0],
                [170.0, 40.0],
                [-10.0, 40.0],
                [-170.0, 40.0],
            ]
        ]
    ]
    assert _cap(validate_geometry(band)[0])[1] > MAX_RADIUS  # too big for one view
    out, _ = blur_regions(image, [band])
    inside = rasterize(band, W, H)
    assert np.array_equal(out[~inside], image[~inside])
    assert out[inside].std() < 0.3 * image[inside].std()


def test_a_face_near_the_pole_is_blurred_in_its_own_view():
    """A square near the zenith spans many equirect columns; blurring it in its own view
    mixes each pixel only with its neighbours on the sphere: a pattern of vertical stripes
    of the equirect image (meridians) is averaged across them only near the region."""
    x = np.arange(W)
    image = np.repeat(((x // 4) % 2 * 255).astype(np.uint8)[None, :, None], H, axis=0)
    image = np.repeat(image, 3, axis=2)
    region = _quad(0.0, 80.0, 6.0, 0.0)
    out, _ = blur_regions(image, [region])
    inside = rasterize(region, W, H)
    # every blurred pixel is a mix (stripes averaged), none keeps pure black or white
    values = out[inside][:, 0].astype(int)
    assert 60 < values.mean() < 195 and values.min() > 10 and values.max() < 245


def test_expanded_boxes_grow_about_their_centre():
    g = _quad(100.0, -60.0, 5.0, 10.0)
    bigger = expand_geometry(g, 1.5)
    assert area(bigger) == pytest.approx(area(g) * 2.25, rel=0.05)
    assert rasterize(g, 1024, 512)[rasterize(bigger, 1024, 512) == 0].sum() == 0


def test_strong_blur_is_a_gaussian_of_the_requested_width():
    impulse = np.zeros((201, 201), np.float32)
    impulse[100, 100] = 1.0
    for sigma in (3.0, 20.0):
        out = strong_blur(impulse, sigma)
        ys, xs = np.mgrid[0:201, 0:201]
        measured = np.sqrt((out * (xs - 100) ** 2).sum() / out.sum())
        assert measured == pytest.approx(sigma, rel=0.15)
