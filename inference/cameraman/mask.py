"""Which pixels to remove: an automatic nadir cap, or the polygons of a chosen class.

Both are exact on the sphere: the cap is every pixel centre below a latitude, the polygons go
through the geometry core's exact rasteriser. Growing a mask by a few pixels is done in the
work frame (:mod:`inference.cameraman.frame`), where a pixel is the same angle in every
direction — growing it on the equirect grid near the pole would widen it by a hair across and
by many degrees around.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from label360.sphere.raster import label_map

from .frame import WorkFrame, footprint


def cap_mask(width: int, height: int, cap_deg: float) -> NDArray[np.bool_]:
    """Pixels whose centre lies within ``cap_deg`` degrees of the nadir."""
    if not 0 < cap_deg < 90:
        raise ValueError("the cap must be between 0 and 90 degrees")
    lat = 90.0 - (np.arange(height) + 0.5) / height * 180.0
    rows = lat < -90.0 + cap_deg
    mask = np.zeros((height, width), bool)
    mask[rows] = True
    return mask


def polygon_mask(geometries: list, width: int, height: int) -> NDArray[np.bool_]:
    """Union of stored (already validated) spherical geometries, rasterised exactly."""
    if not geometries:
        return np.zeros((height, width), bool)
    return np.ascontiguousarray(label_map(geometries, width, height, validate=False) > 0)


def grow(mask: NDArray, frame: WorkFrame, pixels: int) -> NDArray[np.bool_]:
    """``mask`` grown by ``pixels`` (of the source's angular size) in every direction on the
    sphere, measured in the work frame; the original pixels always stay in."""
    if pixels <= 0:
        return mask
    hole = footprint(mask, frame).astype(np.uint8)
    size = 2 * pixels + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    grown = cv2.dilate(hole, kernel)
    rows = np.nonzero(mask.any(axis=1))[0]
    # the grown mask may reach beyond the original rows: by the dilation (pixels of the
    # source, i.e. rows) plus the one-pixel footprint margin
    lo = max(0, int(rows.min()) - pixels - 2)
    hi = min(mask.shape[0], int(rows.max()) + pixels + 3)
    mx, my = frame.back_maps(lo, hi)
    rows = np.arange(lo, hi)
    out = mask.copy()
    inside = cv2.remap(grown, mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                       borderValue=0)  # fmt: skip
    out[rows] |= inside.reshape(len(rows), frame.width) > 0
    return out
