"""Locating the sun in its clipped blob: the point estimated deepest into saturation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.prelabel.merge import pixel_solid_angles
from inference.reexpose.pipeline import RecoverOptions, recover_hdr
from inference.reexpose.sun import sun_in_blob
from label360.sphere.projection import equirect_directions
from label360.sphere.vectors import lonlat_to_vec

from .helpers import sky_panorama, to_ldr

W, H = 512, 256


def degrees(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(float(np.clip(a @ b / np.linalg.norm(a), -1, 1))))


def disc(centre: np.ndarray, radius_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dirs, blob, ring): a clipped disc on the sphere and its border 2–3 pixels out."""
    dirs = equirect_directions(W, H).reshape(H, W, 3)
    angle = np.degrees(np.arccos(np.clip(dirs @ centre.astype(np.float32), -1, 1)))
    pixel = 180.0 / H
    blob = angle <= radius_deg
    ring = (angle > radius_deg + 1.5 * pixel) & (angle <= radius_deg + 3 * pixel)
    return dirs, blob, ring


@pytest.mark.parametrize("lon", [30.0, 179.5], ids=["middle", "seam"])
def test_a_round_blob_gives_its_centre(lon):
    centre = lonlat_to_vec(lon, 20.0).astype(np.float64)
    dirs, blob, ring = disc(centre, 8.0)
    slope = np.full((H, W), 3.0, np.float32)
    sun = sun_in_blob(dirs, blob, ring, slope, pixel_solid_angles(W, H))
    assert sun is not None and degrees(sun, centre) < 0.4


def test_the_sun_lies_nearer_the_steeper_border():
    """A power-law lobe falls off faster near the sun: a border twice as steep on the east
    side means the sun sits east of the blob's centre."""
    centre = lonlat_to_vec(30.0, 20.0).astype(np.float64)
    dirs, blob, ring = disc(centre, 8.0)
    east = dirs @ np.array([1.0, 0.0, 0.0], np.float32) > centre[0]
    slope = np.where(east, 6.0, 3.0).astype(np.float32)
    sun = sun_in_blob(dirs, blob, ring, slope, pixel_solid_angles(W, H))
    lon = math.degrees(math.atan2(sun[0], sun[2]))
    assert 31.0 < lon < 38.0, lon


def test_no_sky_border_or_nothing_above_the_horizon_gives_none():
    centre = lonlat_to_vec(30.0, 20.0).astype(np.float64)
    dirs, blob, ring = disc(centre, 8.0)
    slope = np.full((H, W), 3.0, np.float32)
    sr = pixel_solid_angles(W, H)
    assert sun_in_blob(dirs, blob, np.zeros_like(ring), slope, sr) is None
    below = lonlat_to_vec(30.0, -30.0).astype(np.float64)
    dirs, blob, ring = disc(below, 8.0)
    assert sun_in_blob(dirs, blob, ring, slope, sr) is None


@pytest.mark.parametrize("lon", [40.0, 179.0], ids=["middle", "seam"])
def test_a_low_sun_cut_by_the_ground_is_found_where_the_centroid_is_not(lon):
    """Sun 3° above the horizon: the ground cuts its clipped blob from below, so the blob's
    centroid sits ~4.5° too high. The deepest point of the blob is the sun; the fit started
    there is kept unless the one started at the centroid explains the sky better (here the
    sky is the model's own family, so that one moves onto the sun as well)."""
    radiance, sun = sky_panorama(W, sun_lon=lon, sun_lat=3.0)
    ldr = to_ldr(radiance, 0.4)
    clipped = (ldr >= 250).any(axis=2)
    dirs = equirect_directions(W, H).reshape(H, W, 3)
    centroid = (dirs * (clipped * pixel_solid_angles(W, H))[:, :, None]).sum((0, 1))
    assert degrees(centroid, sun) > 3.0
    out = recover_hdr(ldr, RecoverOptions(response="srgb"))
    starts = out.info["sky"]["sun_start_rms"]
    assert set(starts) == {"deepest into saturation", "blob centroid"}
    assert out.sun is not None and degrees(out.sun, sun) < 0.5
