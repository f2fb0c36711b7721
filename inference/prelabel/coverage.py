"""Views that cover the sphere with overlap, and how much each view pixel is trusted.

A view's prediction is trusted most near its centre: pixel weight ``cos(θ)^power`` where
θ is the angle between the pixel's ray and the optical axis (1 at the centre, about 0.1 in
the corners of a 90° view with the default power 4).
"""

from __future__ import annotations

import math

import numpy as np

from label360.sphere import View

#: (pitch, number of views, yaw offset) rings of the default cover (22 views of 90°).
DEFAULT_RINGS: tuple[tuple[float, int, float], ...] = (
    (0.0, 8, 0.0),
    (45.0, 6, 30.0),
    (-45.0, 6, 30.0),
    (90.0, 1, 0.0),
    (-90.0, 1, 0.0),
)


def cover_views(
    size: int, hfov: float = 90.0, rings: tuple[tuple[float, int, float], ...] = DEFAULT_RINGS
) -> list[View]:
    """Square views (size × size, ``hfov``) on rings of constant pitch covering the sphere."""
    views = []
    for pitch, count, offset in rings:
        for k in range(count):
            yaw = (offset + k * 360.0 / count + 180.0) % 360.0 - 180.0
            views.append(View(yaw, pitch, 0.0, hfov, size, size))
    return views


def centre_weight(view: View, power: float = 4.0) -> np.ndarray:
    """float32 (H, W) trust of each pixel: cos(angle to the optical axis) ** power."""
    y, x = np.mgrid[0 : view.height, 0 : view.width].astype(np.float64)
    ray = view.pixel_to_ray(x, y)
    cos = 1.0 / np.linalg.norm(ray, axis=-1)  # ray z is 1
    return (cos**power).astype(np.float32)


def angle_from_centre(view: View, lon: float, lat: float) -> float:
    """Angle (degrees) between a direction and the view's optical axis."""
    x, y = view.lonlat_to_pixel(lon, lat)
    if not np.isfinite(x):
        return 180.0
    ray = view.pixel_to_ray(float(x), float(y))
    return math.degrees(math.acos(1.0 / float(np.linalg.norm(ray))))
