"""Geometry-core access for the synthetic tests.

The tests check the renderer against ``label360.sphere`` (rasterize / validate_geometry /
area). While that package was being written in parallel, a tiny brute-force fallback for
*convex* parts (pixel centre inside iff on the inner side of every edge plane) let the tests
run; it is used only if ``label360.sphere`` cannot be imported.
"""

from __future__ import annotations

import functools

import numpy as np

from label360.synthetic import render

try:
    from label360.sphere import area as sphere_area
    from label360.sphere import rasterize as sphere_rasterize
    from label360.sphere import validate_geometry

    HAVE_SPHERE = True
except ImportError:  # pragma: no cover - only before the geometry core exists
    HAVE_SPHERE = False
    sphere_area = None
    validate_geometry = None


def _vec(lonlat) -> np.ndarray:
    a = np.radians(np.asarray(lonlat, float))
    lon, lat = a[..., 0], a[..., 1]
    return np.stack([np.cos(lat) * np.sin(lon), np.sin(lat), np.cos(lat) * np.cos(lon)], axis=-1)


@functools.lru_cache(maxsize=4)
def _pixel_dirs(width: int, height: int) -> np.ndarray:
    lon = (np.arange(width) + 0.5) / width * 360.0 - 180.0
    lat = 90.0 - (np.arange(height) + 0.5) / height * 180.0
    d = _vec(np.stack(np.broadcast_arrays(lon[None, :], lat[:, None]), axis=-1))
    return np.ascontiguousarray(d.reshape(-1, 3))


def brute_rasterize_convex(geometry, width: int, height: int) -> np.ndarray:
    """Pixel-centre membership for geometries made of convex rings without holes."""
    d = _pixel_dirs(width, height)
    out = np.zeros(width * height, bool)
    for polygon in geometry:
        v = _vec(polygon[0])
        m = np.cross(v, np.roll(v, -1, axis=0))
        m *= 1.0 if float(np.sum(m @ v.sum(axis=0))) >= 0 else -1.0  # ring orientation
        inside = np.ones(width * height, bool)
        for normal in m:
            inside &= d @ normal >= 0
        out |= inside
    return out.reshape(height, width)


def check_instance_mask(geometry, rendered: np.ndarray) -> tuple[int, bool]:
    """Compare exact polygons with a rendered mask.

    Asserts (brute-force rasteriser) that every differing pixel is within one pixel of the
    outline; returns (number of pixels where the geometry core's raster differs from the
    render, whether the core's differences are all near the outline too).
    """
    height, width = rendered.shape
    brute = brute_rasterize_convex(geometry, width, height)
    diff_b = brute ^ rendered
    assert not (diff_b & ~outline_band(brute)).any()
    poly = rasterize(geometry, width, height)
    diff = poly ^ rendered
    return int(diff.sum()), not (diff & ~outline_band(poly)).any()


def rasterize(geometry, width: int, height: int) -> np.ndarray:
    if HAVE_SPHERE:
        return np.asarray(sphere_rasterize(geometry, width, height), bool)
    return brute_rasterize_convex(geometry, width, height)


@functools.cache
def cached_render(kind: str, seed: int, width: int = 512):
    """Renders are deterministic, so tests share them (keeps the module fast)."""
    return render(kind, seed, width)


KINDS = ("room", "street")
SEEDS = (0, 1)
CASES = [(k, s) for k in KINDS for s in SEEDS]


def outline_band(mask: np.ndarray) -> np.ndarray:
    """Pixels within one pixel (8-neighbourhood) of the mask's outline; columns wrap (seam)."""
    padded = np.pad(mask, ((1, 1), (0, 0)), mode="edge")
    dil = np.zeros_like(padded)
    ero = np.ones_like(padded)
    for dj in (-1, 0, 1):
        for di in (-1, 0, 1):
            shifted = np.roll(np.roll(padded, dj, axis=0), di, axis=1)
            dil |= shifted
            ero &= shifted
    return (dil & ~ero)[1:-1]
