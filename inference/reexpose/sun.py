"""Where the sun is inside a clipped blob: the point estimated deepest into saturation.

The clipped blob round a sun is rarely a disc centred on it. Near the horizon the ground or
trees cut it from below, bright haze or glitter on water hangs a stem under it, and the
aureole is brighter on one side; its centroid then sits degrees above or beside the sun
(measured on the benchmark: 0.7–4.7° for blobs of 2–18° radius). What the unclipped sky
round it says instead is how steeply the radiance still rises at each point of the border.

For each clipped pixel ``p`` the excess over the clip level is estimated from every border
point ``b`` of *sky* (unclipped, smooth, not dark, above the horizon — where the border is
an iso-radiance contour, unlike the edge of an occluder) as a cone ``s_b · ∠(p, b)``, with
``s_b`` the border's log-radiance slope per radian, and the lowest cone wins (the radiance
cannot have risen faster than the nearest steep border allows)::

    excess(p) = min_b  s_b · ∠(p, b)

Between two borders the peak falls nearer the steeper one, as it does for a power-law sun
lobe (its slope is ∝ 1/γ). Slopes are clamped to ½–2× their median (a few steep edges of
clouds or branches must not decide alone). The sun is the solid-angle-weighted mean
direction of the pixels above the horizon whose excess is within ``TOP`` of the largest;
pixels below the horizon (glitter, haze over the ground) shape the distances but are not
candidates. Everything is on the sphere: angles between unit vectors, so the seam and
latitude need no special case.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["sun_in_blob", "TOP", "MIN_RING"]

TOP = 0.8  # the sun's pixels: excess ≥ TOP × the largest
MIN_RING = 8  # fewer sky border pixels than this: the blob's centroid is kept
_MAX_RING = 1500  # border pixels used (evenly thinned beyond this: bounded time)
_CHUNK = 4096  # blob pixels per distance block


def sun_in_blob(
    dirs: NDArray,
    blob: NDArray,
    ring: NDArray,
    slope: NDArray,
    solid_angle: NDArray,
) -> NDArray | None:
    """The sun direction (unit vector) in a clipped ``blob`` (H, W bool), or None when its
    sky border ``ring`` (H, W bool) is too short or nothing of it is above the horizon.

    ``dirs`` (H, W, 3) unit vectors of the pixel centres, ``slope`` (H, W) |∇ log L| per
    radian (read on ``ring``), ``solid_angle`` (H, W) or (H, 1) per pixel.
    """
    if int(ring.sum()) < MIN_RING:
        return None
    upper = blob & (dirs[:, :, 1] > 0.0)
    if not upper.any():
        return None
    ry, rx = np.nonzero(ring)
    if len(ry) > _MAX_RING:
        keep = np.linspace(0, len(ry) - 1, _MAX_RING).astype(np.int64)
        ry, rx = ry[keep], rx[keep]
    border = dirs[ry, rx].astype(np.float64)
    s = slope[ry, rx].astype(np.float64)
    med = float(np.median(s))
    if not np.isfinite(med) or med <= 0:
        return None
    s = np.clip(s, 0.5 * med, 2.0 * med)
    by, bx = np.nonzero(blob)
    points = dirs[by, bx].astype(np.float64)
    excess = np.empty(len(points))
    for k in range(0, len(points), _CHUNK):
        cos = np.clip(points[k : k + _CHUNK] @ border.T, -1.0, 1.0)
        excess[k : k + _CHUNK] = (np.arccos(cos) * s[None, :]).min(axis=1)
    is_upper = upper[by, bx]
    top = is_upper & (excess >= TOP * float(excess[is_upper].max()))
    weight = np.broadcast_to(solid_angle, blob.shape)[by[top], bx[top]]
    v = (points[top] * weight[:, None]).sum(axis=0)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else None
