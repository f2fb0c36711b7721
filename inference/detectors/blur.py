"""Privacy blur on the sphere: each region is blurred in a rectilinear view looking at it and
composited back into the equirect image, pixel by pixel, only where the region is.

A face near a pole covers a wide band of equirect columns; blurring the equirect image there
would smear it sideways into a stretched band. Here each region gets a view centred on it
(roll 0, the panorama's own resolution, a margin of context around it), the view is blurred
(a Gaussian whose width follows the region's size), and every equirect pixel whose centre
lies inside the region — the geometry core's exact raster runs
(:func:`label360.sphere.column_intervals`) — takes the blurred view's value at its direction.
Every other pixel is never written: outside the regions the output is bit-identical to the
input, whatever its type (uint8, uint16, float radiance).

Regions larger than a view can hold (radius above ``MAX_RADIUS``) have their pixels split by
the cube face their direction points into, and each face's pixels are blurred in a view of
their own (the split is of the region's exact raster, so no pixel is gained or lost).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from label360.sphere import (
    View,
    column_intervals,
    equirect_to_view,
    validate_geometry,
)
from label360.sphere.polygons import ring_vectors

#: largest region radius (degrees) blurred in one view; larger ones are split by cube faces
MAX_RADIUS = 55.0
#: views are at most this many pixels wide (huge regions are blurred at a coarser scale)
MAX_VIEW = 2048


def _cap(part: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """Centre (unit vector) and radius (degrees) of a cap holding the part's outer ring."""
    v = ring_vectors(np.asarray(part[0], np.float64))
    c = v.sum(axis=0)
    n = np.linalg.norm(c)
    if n < 1e-9:
        return v[0], 180.0
    c = c / n
    return c, float(np.degrees(np.arccos(np.clip(v @ c, -1.0, 1.0)).max()))


def expand_geometry(geometry: list, factor: float) -> list:
    """Each outer ring pushed away from its cap centre by ``factor`` times its angular
    distance (a box grows about its centre; holes are dropped). For margins around boxes."""
    out = []
    for part in validate_geometry(geometry):
        v = ring_vectors(np.asarray(part[0], np.float64))
        c, _r = _cap(part)
        cos = np.clip(v @ c, -1.0, 1.0)
        theta = np.arccos(cos) * factor
        u = v - cos[:, None] * c[None, :]
        u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-15)
        w = np.cos(theta)[:, None] * c[None, :] + np.sin(theta)[:, None] * u
        lon = np.degrees(np.arctan2(w[:, 0], w[:, 2]))
        lat = np.degrees(np.arcsin(np.clip(w[:, 1], -1.0, 1.0)))
        out.append([np.stack([lon, lat], axis=1).tolist()])
    validate_geometry(out)
    return out


def strong_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of standard deviation ``sigma`` px; wide ones on a reduced copy (the
    result is smooth anyway, and a 6σ kernel at full size would cost σ² more)."""
    if sigma <= 8.0:
        return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    k = sigma / 4.0
    h, w = image.shape[:2]
    small = cv2.resize(
        image, (max(1, round(w / k)), max(1, round(h / k))), interpolation=cv2.INTER_AREA
    )
    small = cv2.GaussianBlur(small, (0, 0), 4.0, borderType=cv2.BORDER_REFLECT)
    out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return out.reshape(image.shape)


def _pixel_groups(part: list, width: int, height: int, radius: float):
    """(rows, cols, centre, radius) of the equirect pixels inside the part: one group, or
    one per cube face (each pixel goes to the face its direction points into) when the part
    is too big for one view."""
    runs = column_intervals([part], width, height)
    if not len(runs):
        return []
    lengths = runs[:, 2] - runs[:, 1]
    cols = np.repeat(runs[:, 0], lengths)
    starts = np.repeat(runs[:, 1] - np.cumsum(lengths) + lengths, lengths)
    rows = np.arange(len(cols)) + starts
    lon = np.radians((cols + 0.5) / width * 360.0 - 180.0)
    lat = np.radians(90.0 - (rows + 0.5) / height * 180.0)
    dirs = np.stack([np.cos(lat) * np.sin(lon), np.sin(lat), np.cos(lat) * np.cos(lon)], axis=1)
    if radius <= MAX_RADIUS:
        labels = np.zeros(len(cols), np.int64)
    else:
        axis = np.abs(dirs).argmax(axis=1)
        labels = 2 * axis + (dirs[np.arange(len(cols)), axis] < 0)
    groups = []
    for label in np.unique(labels):
        pick = labels == label
        d = dirs[pick]
        c = d.sum(axis=0)
        c /= max(np.linalg.norm(c), 1e-15)
        r = float(np.degrees(np.arccos(np.clip(d @ c, -1.0, 1.0)).max()))
        # half a pixel of slack: pixel centres are inside, their neighbours are sampled
        groups.append((rows[pick], cols[pick], c, r + 180.0 / height))
    return groups


def blur_view(centre: np.ndarray, radius: float, width: int, margin: float = 0.3) -> View:
    """The view a region is blurred in: looking at its centre, roll 0, the region plus
    ``margin`` of its radius (at least 1°) of context, the panorama's resolution (or less
    for huge regions)."""
    lon = math.degrees(math.atan2(centre[0], centre[2]))
    lat = math.degrees(math.asin(max(-1.0, min(1.0, float(centre[1])))))
    half = min(radius + max(1.0, margin * radius), 80.0)
    f = width / (2.0 * math.pi)
    size = 2.0 * f * math.tan(math.radians(half))
    if size > MAX_VIEW:
        f *= MAX_VIEW / size
        size = MAX_VIEW
    size = max(16, int(math.ceil(size)))
    return View(lon, lat, 0.0, 2.0 * math.degrees(math.atan(size / (2.0 * f))), size, size)


def blur_regions(
    image: np.ndarray,
    regions: list[list],
    strength: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """A copy of the equirect ``image`` with every region (spherical geometry) blurred.

    The Gaussian's σ is ``strength`` × the region's diameter / 8 in the blur view (at least
    2 px). Returns (image, number of pixels written). Pixels outside every region are copied
    unchanged (bit-identical)."""
    if image.ndim not in (2, 3) or image.shape[1] != 2 * image.shape[0]:
        raise ValueError("blur_regions needs a 2:1 equirect image")
    height, width = image.shape[:2]
    out = image.copy()
    written = 0
    for k, geometry in enumerate(regions):
        for part in validate_geometry(geometry):
            _, radius = _cap(part)
            for rows, cols, centre, r in _pixel_groups(part, width, height, radius):
                written += _blur_pixels(image, out, rows, cols, centre, r, strength)
        if progress is not None:
            progress(k + 1, len(regions))
    return out, written


def _blur_pixels(source, out, rows, cols, centre, radius, strength) -> int:
    height, width = source.shape[:2]
    view = blur_view(centre, radius, width)
    pixels = equirect_to_view(
        source, view.yaw, view.pitch, view.roll, view.hfov, view.width, view.height
    )
    sigma = max(2.0, strength * 2.0 * math.radians(radius) * view.focal / 8.0)
    blurred = strong_blur(pixels, sigma)
    lon = (cols + 0.5) / width * 360.0 - 180.0
    lat = 90.0 - (rows + 0.5) / height * 180.0
    x, y = view.lonlat_to_pixel(lon, lat)
    mx = np.nan_to_num(x, nan=-1.0).astype(np.float32)[None, :]
    my = np.nan_to_num(y, nan=-1.0).astype(np.float32)[None, :]
    sampled = cv2.remap(blurred, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out[rows, cols] = sampled.reshape((len(cols),) + source.shape[2:])
    return int(len(cols))
