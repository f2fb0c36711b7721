"""Refining a propagated mask from the frame's own pixels.

Between keyframes the occluder's polygons are interpolated on the sphere, which is right
only when the occluder moved uniformly (an arm that swings out and back between two
keyframes is missed). Each such frame's mask is therefore refined from image evidence: in
the work frame (where a pixel is the same angle in every direction), a band of ``band``
pixels either side of the interpolated boundary is left undecided, everything further inside
is the occluder, everything further outside is background, and a graph cut with colour
models learnt from both (OpenCV's GrabCut) decides the band. The result can move the
boundary by at most ``band`` pixels either way, so a poor colour contrast can never turn the
mask into something unrelated to the drawn polygons.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from label360.sphere.projection import sample_equirect

from .frame import WorkFrame, extract

#: GrabCut runs on at most this many pixels per side (the crop is reduced above it)
MAX_SIDE = 384
ITERATIONS = 3


def _disc(radius: int) -> NDArray:
    size = 2 * radius + 1
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def refine_in_crop(crop_rgb: NDArray, crop_mask: NDArray, band: int) -> NDArray[np.bool_]:
    """``crop_mask`` (bool) with its boundary moved, by at most ``band`` pixels, to where the
    colours of ``crop_rgb`` (uint8 RGB) say the occluder ends."""
    if band <= 0 or not crop_mask.any():
        return crop_mask
    m = crop_mask.astype(np.uint8)
    inner = cv2.erode(m, _disc(band), borderValue=0) > 0
    outer = cv2.dilate(m, _disc(band)) > 0
    context = cv2.dilate(m, _disc(3 * band)) > 0  # background the colour model learns from
    ys, xs = np.nonzero(context)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    scale = min(1.0, MAX_SIDE / max(y1 - y0, x1 - x0))
    sub = np.ascontiguousarray(crop_rgb[y0:y1, x0:x1, :3])
    trimap = np.full(sub.shape[:2], cv2.GC_BGD, np.uint8)
    trimap[outer[y0:y1, x0:x1]] = cv2.GC_PR_BGD
    trimap[crop_mask[y0:y1, x0:x1]] = cv2.GC_PR_FGD
    trimap[inner[y0:y1, x0:x1]] = cv2.GC_FGD
    if scale < 1.0:
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        sub = cv2.resize(sub, size, interpolation=cv2.INTER_AREA)
        trimap = cv2.resize(trimap, size, interpolation=cv2.INTER_NEAREST)
    labels = set(np.unique(trimap).tolist())
    if not labels & {cv2.GC_FGD, cv2.GC_PR_FGD} or not labels & {cv2.GC_BGD, cv2.GC_PR_BGD}:
        return crop_mask
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's GMM initialisation uses OpenCV's RNG: keep it repeatable
    try:
        cv2.grabCut(sub, trimap, None, bgd, fgd, ITERATIONS, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # a degenerate colour model (e.g. a flat image): keep the drawn mask
        return crop_mask
    fg = (trimap == cv2.GC_FGD) | (trimap == cv2.GC_PR_FGD)
    if scale < 1.0:
        fg = cv2.resize(fg.astype(np.uint8), (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        fg = fg > 0
    out = inner.copy()
    out[y0:y1, x0:x1] |= fg & outer[y0:y1, x0:x1]
    return out


def refine_mask(rgb: NDArray, mask: NDArray, frame: WorkFrame, band: int) -> NDArray[np.bool_]:
    """The equirect ``mask`` (bool (H, W)) of frame ``rgb`` refined in the work frame by at
    most ``band`` source pixels either way (see the module doc)."""
    if band <= 0 or not mask.any():
        return mask
    crop_mask = sample_equirect(mask.astype(np.float32), frame.crop_directions()) >= 0.5
    refined = refine_in_crop(extract(rgb, frame), crop_mask, band)
    rows = np.nonzero(mask.any(axis=1))[0]
    # the refined mask may reach ``band`` pixels (of angle) beyond the drawn rows
    lo = max(0, int(rows.min()) - band - 2)
    hi = min(mask.shape[0], int(rows.max()) + band + 3)
    mx, my = frame.back_maps(lo, hi)
    inside = cv2.remap(refined.astype(np.uint8), mx, my, cv2.INTER_NEAREST,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
    out = np.zeros_like(mask)
    out[lo:hi] = inside.reshape(hi - lo, frame.width) > 0
    return out
