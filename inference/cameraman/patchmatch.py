"""Compiled PatchMatch kernels: nearest-neighbour fields between patches, and voting.

The exemplar half of the inpainting (see :mod:`inference.cameraman.inpaint`) follows Wexler,
Shechtman and Irani (2007) with Barnes et al.'s PatchMatch (2009) as the search:

* a *target* is a patch centre whose square patch overlaps the hole; its nearest neighbour
  is a *source* centre whose whole patch lies in known pixels;
* :func:`search` improves the field by propagation (a neighbour's match shifted by one
  pixel) and random search around the current match at halving radii;
* :func:`vote` sets every pixel it is asked about to the weighted mean of what the patches
  covering it say it should be (a gather, so pixels are independent and run in parallel).

Distances are confidence-weighted sums of squared differences: ``conf`` is 1 for known (or
already filled) pixels and 0 for pixels not filled yet, which is how the hole is shrunk from
its border inwards (only the filled part of a patch is compared).

Images are float32 (H, W, C) C-contiguous; fields are int32 (H, W) arrays of source
coordinates (``sy``, ``sx``) indexed by target centre.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

__all__ = ["distances", "init_random", "search", "vote", "vote_best"]

_jit = numba.njit(cache=True, nogil=True)
_pjit = numba.njit(cache=True, nogil=True, parallel=True)


_MASK64 = (1 << 64) - 1


@_jit
def _mix(state):  # noqa: ANN001
    """splitmix64: a counter-based generator, so every target draws the same numbers
    whichever thread runs it (results do not depend on the thread count)."""
    z = (state + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(_MASK64)
    z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & np.uint64(_MASK64)
    z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & np.uint64(_MASK64)
    return z ^ (z >> np.uint64(31))


@_jit
def _uniform(state, lo, hi):  # noqa: ANN001
    """(next state, an integer in [lo, hi])."""
    state = _mix(state)
    return state, lo + np.int64(state % np.uint64(hi - lo + 1))


@_jit
def _dist(img, conf, ty, tx, sy, sx, r, limit):  # noqa: ANN001
    """Confidence-weighted SSD of the patches centred at (ty, tx) and (sy, sx); stops early
    once the partial sum passes ``limit``."""
    total = 0.0
    channels = img.shape[2]
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            w = conf[ty + dy, tx + dx]
            if w == 0.0:
                continue
            acc = 0.0
            for c in range(channels):
                d = img[ty + dy, tx + dx, c] - img[sy + dy, sx + dx, c]
                acc += d * d
            total += w * acc
        if total > limit:
            return total
    return total


@_jit
def init_random(valid_src, ty, tx, nnf_y, nnf_x, seed) -> None:  # noqa: ANN001
    """Random valid sources for the targets (ty, tx)."""
    sy_all, sx_all = np.nonzero(valid_src)
    n = sy_all.shape[0]
    state = np.uint64(seed)
    for k in range(ty.shape[0]):
        state, j = _uniform(state, 0, n - 1)
        nnf_y[ty[k], tx[k]] = sy_all[j]
        nnf_x[ty[k], tx[k]] = sx_all[j]


@_pjit
def distances(img, conf, ty, tx, nnf_y, nnf_x, r, out) -> None:  # noqa: ANN001
    """``out[t]`` = distance of every target to its current source."""
    for k in prange(ty.shape[0]):
        y, x = ty[k], tx[k]
        out[y, x] = _dist(img, conf, y, x, nnf_y[y, x], nnf_x[y, x], r, np.inf)


@_jit
def _improve(img, conf, valid_src, is_target, y, x, step, nnf_y, nnf_x, dist, r, radius, state,
             row0, row1):  # noqa: ANN001  # fmt: skip
    h, w = valid_src.shape
    best_y, best_x, best = nnf_y[y, x], nnf_x[y, x], dist[y, x]
    # propagation from the neighbours already visited in this scan direction
    for oy, ox in ((0, -step), (-step, 0)):
        ny, nx = y + oy, x + ox
        # only neighbours of this run's rows: another run may be writing the others
        if row0 <= ny <= row1 and 0 <= nx < w and is_target[ny, nx]:
            cy, cx = nnf_y[ny, nx] - oy, nnf_x[ny, nx] - ox
            if 0 <= cy < h and 0 <= cx < w and valid_src[cy, cx] and (cy != best_y or cx != best_x):
                d = _dist(img, conf, y, x, cy, cx, r, best)
                if d < best:
                    best_y, best_x, best = cy, cx, d
    # random search around the best match at halving radii
    rad = radius
    while rad >= 1:
        state, oy = _uniform(state, -rad, rad)
        state, ox = _uniform(state, -rad, rad)
        cy, cx = best_y + oy, best_x + ox
        if 0 <= cy < h and 0 <= cx < w and valid_src[cy, cx]:
            d = _dist(img, conf, y, x, cy, cx, r, best)
            if d < best:
                best_y, best_x, best = cy, cx, d
        rad //= 2
    nnf_y[y, x], nnf_x[y, x], dist[y, x] = best_y, best_x, best


@_pjit
def search(
    img, conf, valid_src, is_target, ty, tx, nnf_y, nnf_x, dist, r, radius, reverse, starts, seed
):  # noqa: ANN001
    """One PatchMatch pass over the targets (ty, tx), given in raster order.

    The targets are cut into runs of whole rows (``starts``: first index of each run, then
    len(ty)) scanned in parallel; within a run the scan goes forward (``reverse`` false:
    propagation from left and above) or backward, and propagation stays inside the run's
    rows, so the result does not depend on thread timing. ``dist`` must hold the current
    distances.
    """
    for b in prange(starts.shape[0] - 1):
        lo = starts[b]
        hi = starts[b + 1]
        if hi <= lo:
            continue
        row0, row1 = ty[lo], ty[hi - 1]
        for i in range(lo, hi):
            k = hi - 1 - (i - lo) if reverse else i
            state = np.uint64(seed) ^ (np.uint64(k) * np.uint64(0xD1B54A32D192ED03))
            _improve(img, conf, valid_src, is_target, ty[k], tx[k], -1 if reverse else 1,
                     nnf_y, nnf_x, dist, r, radius, state, row0, row1)  # fmt: skip


@_pjit
def vote(img, is_target, nnf_y, nnf_x, weight, qy, qx, r, out) -> None:  # noqa: ANN001
    """``out[k]`` = weighted mean over the target patches covering pixel (qy[k], qx[k]) of the
    value their source patch has at that place; NaN where no target covers the pixel."""
    h, w = is_target.shape
    channels = img.shape[2]
    for k in prange(qy.shape[0]):
        y, x = qy[k], qx[k]
        total = 0.0
        acc = np.zeros(channels, dtype=np.float64)
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                ty, tx = y - dy, x - dx
                if 0 <= ty < h and 0 <= tx < w and is_target[ty, tx]:
                    wt = weight[ty, tx]
                    sy, sx = nnf_y[ty, tx] + dy, nnf_x[ty, tx] + dx
                    for c in range(channels):
                        acc[c] += wt * img[sy, sx, c]
                    total += wt
        for c in range(channels):
            out[k, c] = acc[c] / total if total > 0.0 else np.nan


@_pjit
def vote_best(img, is_target, nnf_y, nnf_x, dist, qy, qx, r, out) -> None:  # noqa: ANN001
    """``out[k]`` = what the best-matching target patch covering pixel (qy[k], qx[k]) says it
    should be (the covering patch of least distance, ties broken in a fixed order); NaN
    where no target covers the pixel. A copy, not a mean: no blur from incoherent
    neighbours."""
    h, w = is_target.shape
    channels = img.shape[2]
    for k in prange(qy.shape[0]):
        y, x = qy[k], qx[k]
        best = np.inf
        by, bx = -1, -1
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                ty, tx = y - dy, x - dx
                if 0 <= ty < h and 0 <= tx < w and is_target[ty, tx] and dist[ty, tx] < best:
                    best = dist[ty, tx]
                    by, bx = nnf_y[ty, tx] + dy, nnf_x[ty, tx] + dx
        for c in range(channels):
            out[k, c] = img[by, bx, c] if by >= 0 else np.nan
