"""Placing flat images on a panorama with exactly known positions (tests and benchmarks).

A patch (a photo of a face, a crop of printed text) is put on the sphere through the
*inverse* gnomonic projection: it is treated as the image of a rectilinear view looking at
(lon, lat) — roll 0, so the patch's "up" is the local meridian's north — and every
panorama pixel whose direction falls inside that view takes the patch's value there. A
box drawn in the patch is then exactly the spherical polygon of its corners mapped through
that view (straight lines of a view are great circles).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from label360.sphere import View, validate_geometry


def patch_view(patch_shape: tuple[int, int], lon: float, lat: float, width_deg: float) -> View:
    """The view in which a patch (height, width) spans ``width_deg`` degrees across its centre."""
    h, w = patch_shape[:2]
    hfov = 2.0 * math.degrees(math.atan(math.tan(math.radians(width_deg) / 2.0)))
    return View(float(lon), float(lat), 0.0, hfov, int(w), int(h))


def paste(pano: np.ndarray, patch: np.ndarray, view: View) -> np.ndarray:
    """Write ``patch`` (the image of ``view``) into the equirect ``pano`` in place; returns
    the bool mask of the panorama pixels written. Only the footprint's bounding band of
    rows/columns is computed (columns wrap across the seam)."""
    height, width = pano.shape[:2]
    rows, cols = _footprint(view, width, height)
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    lon = (cc + 0.5) / width * 360.0 - 180.0
    lat = 90.0 - (rr + 0.5) / height * 180.0
    x, y = view.lonlat_to_pixel(lon, lat)
    inside = np.isfinite(x) & (x >= -0.5) & (x <= view.width - 0.5)
    inside &= np.isfinite(y) & (y >= -0.5) & (y <= view.height - 0.5)
    mx = np.where(inside, x, -10).astype(np.float32)
    my = np.where(inside, y, -10).astype(np.float32)
    sampled = cv2.remap(patch, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = np.zeros((height, width), bool)
    sub = pano[np.ix_(rows, cols)]
    sub[inside] = sampled[inside]
    pano[np.ix_(rows, cols)] = sub
    mask[np.ix_(rows, cols)] = inside
    return mask


def _footprint(view: View, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and (seam-wrapping) columns of the panorama that can hold the view's footprint."""
    t = np.linspace(0.0, 1.0, 33)
    w, h = view.width - 0.5, view.height - 0.5
    xs = np.concatenate(
        [-0.5 + t * (w + 0.5), np.full(33, w), w - t * (w + 0.5), np.full(33, -0.5)]
    )
    ys = np.concatenate(
        [np.full(33, -0.5), -0.5 + t * (h + 0.5), np.full(33, h), h - t * (h + 0.5)]
    )
    lon, lat = view.pixel_to_lonlat(xs, ys)
    clon, clat = view.pixel_to_lonlat(view.width / 2 - 0.5, view.height / 2 - 0.5)
    # a footprint holding a pole covers every column from that pole down to its rim
    pole = None
    for sign in (1.0, -1.0):
        px, py = view.lonlat_to_pixel(0.0, 90.0 * sign)
        if np.isfinite(px) and -0.5 <= px <= w and -0.5 <= py <= h:
            pole = sign
    pad = 2
    if pole is not None:
        lat_lo = lat.min() if pole > 0 else -90.0
        lat_hi = 90.0 if pole > 0 else lat.max()
        cols = np.arange(width)
    else:
        lat_lo, lat_hi = lat.min(), lat.max()
        d = (lon - float(clon) + 180.0) % 360.0 - 180.0
        c0 = int(math.floor((float(clon) + d.min() + 180.0) / 360.0 * width)) - pad
        c1 = int(math.ceil((float(clon) + d.max() + 180.0) / 360.0 * width)) + pad
        cols = np.arange(c0, min(c1, c0 + width)) % width
    r0 = max(0, int(math.floor((90.0 - lat_hi) / 180.0 * height)) - pad)
    r1 = min(height, int(math.ceil((90.0 - lat_lo) / 180.0 * height)) + pad)
    return np.arange(r0, r1), cols


def box_geometry(view: View, box: tuple[float, float, float, float]) -> list:
    """The spherical polygon of a box (x0, y0, x1, y1; index coordinates of the patch)."""
    x0, y0, x1, y1 = box
    lon, lat = view.pixel_to_lonlat(np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1]))
    geometry = [[np.stack([lon, lat], axis=1).tolist()]]
    validate_geometry(geometry)
    return geometry
