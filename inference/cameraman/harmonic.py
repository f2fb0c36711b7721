"""The smooth part of a fill: the harmonic (membrane) interpolation of a hole's border.

Inside the hole the result solves Laplace's equation with the known pixels round it as
boundary values: every hole pixel is the mean of its four neighbours. Among smooth fills it is
the one with the least gradient energy, and it is the expected value of the border seen by a
random walk from each pixel, which is why it scores best on the true pixels of any smooth
fill we measured (docs/cameraman.md). Laplace's equation is conformally invariant, so in the
work frame (nearly conformal round the equator) it is the harmonic fill on the sphere itself.

Solved coarse to fine: the hole is halved until it is small, solved there to convergence by
red–black successive over-relaxation, and each finer level starts from the upsampled coarse
solution and only needs a few sweeps to fix the detail near the border. Red–black ordering
makes a sweep independent of the thread count, so results are identical on any machine.
"""

from __future__ import annotations

import math

import cv2
import numba
import numpy as np
from numba import prange
from numpy.typing import NDArray

__all__ = ["box_around", "double", "halve", "harmonic_fill", "working_copy"]

COARSE_PIXELS = 4096  # solve to convergence once the hole has at most this many pixels
COARSE_SWEEPS = 4000
FINE_SWEEPS = 60
TOLERANCE = 1e-3  # largest change of a sweep (in image units) that counts as converged


@numba.njit(cache=True, nogil=True, parallel=True)
def _sweep(img, ys, xs, omega):  # noqa: ANN001
    """One over-relaxed Gauss–Seidel pass over the given (same-colour) pixels; returns the
    largest change. Neighbours outside the image are left out (a free border)."""
    h, w, c = img.shape
    n = ys.shape[0]
    changes = np.zeros(n, np.float32)
    for i in prange(n):
        y, x = ys[i], xs[i]
        count = 0
        acc = np.zeros(c, np.float32)
        if y > 0:
            acc += img[y - 1, x]
            count += 1
        if y < h - 1:
            acc += img[y + 1, x]
            count += 1
        if x > 0:
            acc += img[y, x - 1]
            count += 1
        if x < w - 1:
            acc += img[y, x + 1]
            count += 1
        worst = np.float32(0.0)
        for k in range(c):
            step = omega * (acc[k] / count - img[y, x, k])
            img[y, x, k] += step
            worst = max(worst, abs(step))
        changes[i] = worst
    return changes.max() if n else np.float32(0.0)


def _relax(img: NDArray, hole: NDArray, sweeps: int, tolerance: float) -> int:
    """Red–black SOR on ``img`` inside ``hole`` until a sweep changes less than ``tolerance``;
    returns the number of sweeps."""
    ys, xs = np.nonzero(hole)
    red = (ys + xs) % 2 == 0
    colours = [(ys[m].astype(np.int64), xs[m].astype(np.int64)) for m in (red, ~red)]
    # the over-relaxation suited to the hole's width (its slowest mode)
    inscribed = float(cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3).max())
    omega = np.float32(2.0 / (1.0 + math.sin(math.pi / (2.0 * inscribed + 2.0))))
    for done in range(1, sweeps + 1):
        change = max(_sweep(img, cy, cx, omega) for cy, cx in colours)
        if change < tolerance:
            return done
    return sweeps


def halve(img: NDArray, hole: NDArray) -> tuple[NDArray, NDArray]:
    """One level up the pyramid both smooth fills are solved on: half size (rounded down,
    area-averaged), a coarse pixel known if any fine pixel under it is, and then the mean of
    those. Coarse hole pixels are left at zero: the coarse solve writes them before reading."""
    h, w = hole.shape
    size = (max(1, w // 2), max(1, h // 2))
    known = (~hole).astype(np.float32)
    total = cv2.resize(img * known[..., None], size, interpolation=cv2.INTER_AREA)
    share = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
    coarse = total.reshape(size[1], size[0], -1) / np.maximum(share, 1e-6)[..., None]
    return np.ascontiguousarray(coarse, np.float32), share <= 0.0


def double(coarse: NDArray, shape: tuple[int, int]) -> NDArray:
    """A coarse level (from :func:`halve`) brought back to the fine ``shape`` (bilinear)."""
    h, w = shape
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)


def _solve(img: NDArray, hole: NDArray) -> None:
    """Fill ``hole`` of ``img`` (float32 (H, W, C), in place) with the harmonic solution."""
    if hole.sum() > COARSE_PIXELS and min(hole.shape) >= 8:
        coarse, coarse_hole = halve(img, hole)
        if coarse_hole.any():
            _solve(coarse, coarse_hole)
        img[hole] = double(coarse, hole.shape)[hole]
        _relax(img, hole, FINE_SWEEPS, TOLERANCE)
    else:
        known = ~hole
        img[hole] = img[known].mean(axis=0) if known.any() else 0.0
        _relax(img, hole, COARSE_SWEEPS, TOLERANCE * 0.1)


def working_copy(image: NDArray, hole: NDArray) -> NDArray[np.float32]:
    """A float32 (H, W, C) copy of ``image`` to fill; refuses a hole that covers it all."""
    out = np.array(image, np.float32, copy=True)
    if out.ndim == 2:
        out = out[..., None]
    if hole.all():
        raise ValueError("the hole covers the whole image")
    return out


def box_around(hole: NDArray, margin: int) -> tuple[slice, slice]:
    """Row and column slices of the hole's bounding box grown by ``margin`` (inside the
    image)."""
    rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
    h, w = hole.shape
    return (
        slice(max(0, rows[0] - margin), min(h, rows[-1] + margin + 1)),
        slice(max(0, cols[0] - margin), min(w, cols[-1] + margin + 1)),
    )


def harmonic_fill(image: NDArray, hole: NDArray) -> NDArray:
    """``image`` (float32 (H, W, C)) with ``hole`` (bool (H, W)) replaced by the harmonic
    interpolation of the known pixels round it; pixels outside the hole are unchanged."""
    hole = np.asarray(hole, bool)
    out = working_copy(image, hole)
    if not hole.any():
        return out
    # the box round the hole plus its one-pixel border holds every value the solution reads
    box = box_around(hole, 1)
    values = np.ascontiguousarray(out[box])
    _solve(values, np.ascontiguousarray(hole[box]))
    out[box] = values
    return out
