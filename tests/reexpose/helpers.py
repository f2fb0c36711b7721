"""Small synthetic radiance panoramas with exact truth for the re-exposure tests."""

from __future__ import annotations

import math

import cv2
import numpy as np

from inference.reexpose.response import Response
from inference.reexpose.sky import SkyModel, preetham_coefficients
from label360.sphere.projection import equirect_directions
from label360.sphere.vectors import lonlat_to_vec


def sky_panorama(
    width: int = 256, sun_lon: float = 40.0, sun_lat: float = 25.0, sun_gain: float = 0.02
) -> tuple[np.ndarray, np.ndarray]:
    """A clear sky with a sun (the module's own model family) over a grey-green ground.

    Returns (linear radiance (H, W, 3) float32, sun unit vector).
    """
    h = width // 2
    sun = lonlat_to_vec(sun_lon, sun_lat).astype(np.float64)
    model = SkyModel(
        sun=sun,
        coefficients=preetham_coefficients(3.0),
        power=1.6,
        core=math.radians(0.8),
        k=np.array([0.30, 0.42, 0.60]),
        a=np.array([1.0, 0.95, 0.85]) * sun_gain,
    )
    dirs = equirect_directions(width, h).reshape(h, width, 3)
    sky = model.radiance(dirs)
    ground = np.array([0.18, 0.2, 0.14], np.float32) * (0.6 + 0.4 * np.maximum(-dirs[..., 1:2], 0))
    radiance = np.where(dirs[..., 1:2] > 0, sky, ground).astype(np.float32)
    return radiance, sun


def to_ldr(radiance: np.ndarray, scale: float, response: Response | None = None) -> np.ndarray:
    """Expose, apply the camera curve, quantise to 8 bits (clipping at 1)."""
    response = response or Response("srgb")
    x = np.clip(radiance * scale, 0.0, 1.0)
    return np.clip(np.round(response.forward(x) * 255.0), 0, 255).astype(np.uint8)


def edge_image(width: int = 512, seed: int = 0) -> np.ndarray:
    """Linear radiance of coloured disks, rendered 4× larger and area-averaged (true edge mixes)."""
    rng = np.random.default_rng(seed)
    big_w, big_h = 4 * width, 2 * width
    img = np.zeros((big_h, big_w, 3), np.float32) + rng.uniform(0.05, 0.6, 3).astype(np.float32)
    for _ in range(120):
        colour = rng.uniform(0.03, 0.9, 3).tolist()
        centre = (int(rng.integers(0, big_w)), int(rng.integers(0, big_h)))
        cv2.circle(img, centre, int(rng.integers(20, 160)), colour, -1)
    return cv2.resize(img, (width, width // 2), interpolation=cv2.INTER_AREA)
