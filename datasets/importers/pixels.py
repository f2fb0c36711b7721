"""Pixel-space shapes on an equirect image → spherical polygons.

COCO masks (RLE or polygons) go through ``label360.sphere.mask_to_geometry`` (mask
contours → spherical polygons). LabelMe polygons have edges that are straight in PIXEL
space, which are curves on the sphere: they are converted faithfully by densifying every
pixel-space segment (a vertex at most every ``step_px`` pixels) before mapping vertices to
(lon, lat), so the great-circle edges between the samples follow the straight pixel line
to well under a pixel.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from .. import geom


def coco_segmentation_mask(segmentation: Any, height: int, width: int) -> np.ndarray:
    """Decode a COCO segmentation (polygons, uncompressed or compressed RLE) to a bool mask."""
    if isinstance(segmentation, list):
        if not segmentation or not all(isinstance(p, list) and len(p) >= 6 for p in segmentation):
            raise ValueError("polygon segmentation needs lists of at least 3 points")
        rles = mask_utils.frPyObjects(segmentation, height, width)
        rle = mask_utils.merge(rles)
    elif isinstance(segmentation, dict) and "counts" in segmentation:
        size = segmentation.get("size")
        if list(size or []) != [height, width]:
            raise ValueError(f"RLE size {size} differs from the image size [{height}, {width}]")
        counts = segmentation["counts"]
        if isinstance(counts, list):
            if sum(counts) != height * width:
                raise ValueError("RLE counts do not add up to the image size")
            rle = mask_utils.frPyObjects(segmentation, height, width)
        elif isinstance(counts, str):
            rle = {"size": [height, width], "counts": counts.encode("ascii")}
        else:
            raise ValueError("RLE counts must be a list or a string")
    else:
        raise ValueError("segmentation must be polygons or RLE")
    return mask_utils.decode(rle).astype(bool)


def mask_geometry(mask: np.ndarray, tolerance_deg: float) -> list:
    """Spherical multipolygon of an equirect mask (the geometry core's contour tracing)."""
    geometry = geom.sphere().mask_to_geometry(mask, tolerance_deg)
    return _as_lists(geometry)


def _as_lists(geometry: Any) -> list:
    return [
        [[[float(lon), float(lat)] for lon, lat in np.asarray(ring).tolist()] for ring in polygon]
        for polygon in geometry
    ]


def pixel_to_lonlat(u: float, v: float, width: int, height: int) -> tuple[float, float]:
    """Continuous image coordinates (u, v) → (lon, lat), CONVENTIONS.md."""
    lon = u / width * 360.0 - 180.0
    lat = 90.0 - v / height * 180.0
    lon = ((lon + 180.0) % 360.0) - 180.0
    return lon, max(-90.0, min(90.0, lat))


def densified_ring(
    points: list[tuple[float, float]], width: int, height: int, step_px: float = 2.0
) -> list[list[float]]:
    """A pixel-space polygon (straight edges in pixels) as a densified (lon, lat) ring."""
    ring: list[list[float]] = []
    n = len(points)
    for k in range(n):
        (u0, v0), (u1, v1) = points[k], points[(k + 1) % n]
        steps = max(1, math.ceil(math.hypot(u1 - u0, v1 - v0) / step_px))
        for s in range(steps):
            t = s / steps
            lon, lat = pixel_to_lonlat(u0 + (u1 - u0) * t, v0 + (v1 - v0) * t, width, height)
            if ring and _same(ring[-1], (lon, lat)):
                continue
            ring.append([lon, lat])
    while len(ring) > 1 and _same(ring[0], ring[-1]):
        ring.pop()
    return ring


def _same(a, b) -> bool:
    """Same direction (poles: any longitude)."""
    if abs(a[1]) >= 90.0 and abs(b[1]) >= 90.0 and a[1] == b[1]:
        return True
    return abs(a[0] - b[0]) < 1e-9 and abs(a[1] - b[1]) < 1e-9
