"""The smooth part of a fill, guided by the structure round the hole.

The harmonic fill (:mod:`inference.cameraman.harmonic`) interpolates the border equally in
every direction, so an edge that crosses a thin hole — a rail across a tripod leg, a kerb, a
tile joint, the line between two fields — is blurred out where it should carry on. Here the
fill diffuses along the structure instead (tensor-driven diffusion, after Weickert's
coherence-enhancing diffusion and Tschumperlé's PDE inpainting):

1. the **structure tensor** of the known pixels (the local mean of ∇I ∇Iᵀ over a Gaussian
   window of ``sigma`` pixels, known pixels only) gives each place an edge direction and a
   coherence between 0 (no preferred direction: grass, gravel) and 1 (one clean edge);
2. the tensor field is carried into the hole by the harmonic fill of its three components
   (the hole takes the border's directions, mixed where they disagree);
3. the fill is the steady state of diffusion that runs freely along the edge direction and is
   damped across it in proportion to the coherence: each hole pixel becomes a weighted mean
   of its eight neighbours, a pair of opposite neighbours weighted by how well their direction
   agrees with the edge. Where there is no structure it is the harmonic fill.

Solved coarse to fine like the harmonic fill (a diffusion needs as many sweeps as the hole is
wide squared): the harmonic fill is the start, the hole is halved until small, relaxed there,
and each finer level starts from the upsampled solution. Pixels are swept in four classes by
the parity of row and column, so no two pixels updated in parallel are neighbours and results
are independent of the thread count.
"""

from __future__ import annotations

import cv2
import numba
import numpy as np
from numba import prange
from numpy.typing import NDArray

from .harmonic import (
    COARSE_PIXELS,
    box_around,
    double,
    halve,
    harmonic_fill,
    working_copy,
)

__all__ = ["colour_classes", "diffusion_weights", "structure_fill"]

COARSE_SWEEPS = 600
FINE_SWEEPS = 40
ACROSS = 10.0  # diffusion across a fully coherent edge is 1 / (1 + ACROSS)
SHARPNESS = 4  # how strongly the neighbour pairs' weights follow the diffusion tensor
# neighbour pairs (dy, dx): right/left, down/up and the two diagonals
_PAIRS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _structure_tensor(grey: NDArray, hole: NDArray, sigma: float) -> tuple[NDArray, NDArray]:
    """(Jxx, Jxy, Jyy) (H, W, 3) from known pixels only, and the window's known share."""
    known = (~hole).astype(np.float32)
    gx = np.zeros_like(grey)
    gy = np.zeros_like(grey)
    gx[:, 1:-1] = (grey[:, 2:] - grey[:, :-2]) * 0.5
    gy[1:-1] = (grey[2:] - grey[:-2]) * 0.5
    valid = known.copy()  # a central difference is valid when both of its pixels are known
    valid[:, 1:-1] *= known[:, 2:] * known[:, :-2]
    valid[1:-1] *= known[2:] * known[:-2]
    valid[:, [0, -1]] = 0
    valid[[0, -1], :] = 0
    products = np.stack([gx * gx, gx * gy, gy * gy], axis=-1) * valid[..., None]
    total = cv2.GaussianBlur(products, (0, 0), sigma)
    share = cv2.GaussianBlur(valid, (0, 0), sigma)
    return total / np.maximum(share, 1e-6)[..., None], share


def diffusion_weights(image: NDArray, hole: NDArray, sigma: float) -> NDArray[np.float32]:
    """For every pixel, the weights (H, W, 4) of its four neighbour pairs in the
    structure-guided mean (isotropic where there is no structure)."""
    grey = np.ascontiguousarray(image.astype(np.float32).mean(axis=2))
    tensor, share = _structure_tensor(grey, hole, sigma)
    # the hole (and places the window saw too little of) take the border's tensors
    unseen = hole | (share < 0.2)
    if unseen.all():
        tensor[:] = 0.0
    elif unseen.any():
        tensor = harmonic_fill(tensor.astype(np.float32), unseen)
    jxx, jxy, jyy = tensor[..., 0], tensor[..., 1], tensor[..., 2]
    half_trace = (jxx + jyy) * 0.5
    spread = np.sqrt(np.maximum(half_trace**2 - (jxx * jyy - jxy * jxy), 0.0))
    big, small = half_trace + spread, half_trace - spread
    coherence = (big - small) / (big + small + 1e-3)
    # unit normal of the edge (the eigenvector of the larger eigenvalue)
    nx, ny = jxy, big - jxx
    norm = np.sqrt(nx * nx + ny * ny)
    flat = norm < 1e-9
    nx = np.where(flat, 1.0, nx / np.maximum(norm, 1e-12))
    ny = np.where(flat, 0.0, ny / np.maximum(norm, 1e-12))
    across = 1.0 / (1.0 + ACROSS * coherence)
    # D = t tᵀ + across · n nᵀ with t the edge direction (−ny, nx)
    dxx = ny * ny + across * nx * nx
    dyy = nx * nx + across * ny * ny
    dxy = (across - 1.0) * nx * ny
    weights = []
    for dy, dx in _PAIRS:
        length2 = dx * dx + dy * dy
        along = (dxx * dx * dx + 2 * dxy * dx * dy + dyy * dy * dy) / length2
        weights.append(np.maximum(along, 0.0) ** SHARPNESS / length2)
    return np.ascontiguousarray(np.stack(weights, axis=-1), np.float32)


@numba.njit(cache=True, nogil=True, parallel=True)
def _sweep(img, weights, ys, xs):  # noqa: ANN001
    """One Gauss–Seidel pass of the weighted neighbour-pair mean over same-colour pixels."""
    h, w, c = img.shape
    for i in prange(ys.shape[0]):
        y, x = ys[i], xs[i]
        total = np.float32(0.0)
        acc = np.zeros(c, np.float32)
        for p in range(4):
            dy = 0 if p == 0 else 1
            dx = 1 if p == 0 else (0 if p == 1 else (1 if p == 2 else -1))
            wt = weights[y, x, p]
            if wt <= 0:
                continue
            y1, x1, y2, x2 = y + dy, x + dx, y - dy, x - dx
            if 0 <= y1 < h and 0 <= x1 < w and 0 <= y2 < h and 0 <= x2 < w:
                for k in range(c):
                    acc[k] += wt * (img[y1, x1, k] + img[y2, x2, k])
                total += 2 * wt
        if total > 0:
            for k in range(c):
                img[y, x, k] = acc[k] / total


def colour_classes(hole: NDArray) -> list[tuple[NDArray, NDArray]]:
    """The hole's pixels (ys, xs) in four classes by the parity of row and column.

    A sweep updates one class in parallel, so no pixel of a class may read another of the
    same class: the eight-neighbour mean reads the diagonals, which red–black (two-colour)
    ordering puts in the same class as the pixel itself — a race whose outcome depends on
    the threads' timing. With four classes no two pixels of a class are neighbours."""
    ys, xs = np.nonzero(hole)
    colour = (ys % 2) * 2 + xs % 2
    return [(ys[colour == k].astype(np.int64), xs[colour == k].astype(np.int64)) for k in range(4)]


def _relax(img: NDArray, weights: NDArray, hole: NDArray, sweeps: int) -> None:
    colours = colour_classes(hole)
    for _ in range(sweeps):
        for cy, cx in colours:
            _sweep(img, weights, cy, cx)


def _halve(img: NDArray, hole: NDArray, weights: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """The harmonic fill's coarser level, with the pair weights area-averaged to it."""
    coarse, coarse_hole = halve(img, hole)
    h, w = coarse_hole.shape
    coarse_weights = cv2.resize(weights, (w, h), interpolation=cv2.INTER_AREA)
    return coarse, coarse_hole, np.ascontiguousarray(coarse_weights.reshape(h, w, 4), np.float32)


def _solve(img: NDArray, hole: NDArray, weights: NDArray) -> None:
    if hole.sum() > COARSE_PIXELS and min(hole.shape) >= 16:
        coarse, coarse_hole, coarse_weights = _halve(img, hole, weights)
        if coarse_hole.any():
            _solve(coarse, coarse_hole, coarse_weights)
            img[hole] = double(coarse, hole.shape)[hole]
        _relax(img, weights, hole, FINE_SWEEPS)
    else:
        img[...] = harmonic_fill(img, hole)  # the start: no structure
        _relax(img, weights, hole, COARSE_SWEEPS)


def structure_fill(image: NDArray, hole: NDArray, sigma: float) -> NDArray:
    """``image`` (float32 (H, W, C)) with ``hole`` filled by structure-guided diffusion;
    ``sigma`` (pixels) is the structure tensor's window. Pixels outside the hole are
    unchanged."""
    hole = np.asarray(hole, bool)
    out = working_copy(image, hole)
    if not hole.any():
        return out
    region = box_around(hole, int(np.ceil(3 * sigma)) + 2)  # the tensor's window round it
    box = np.ascontiguousarray(out[region])
    box_hole = np.ascontiguousarray(hole[region])
    # the tensor field is smooth at the window's scale: a wide window is worked out on a
    # reduced copy (a few pixels per sigma) and its weights brought back bilinearly
    factor = max(1, int(sigma // 3))
    if factor > 1:
        bh, bw = box_hole.shape
        size = (max(1, bw // factor), max(1, bh // factor))
        small = cv2.resize(box, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
        small_hole = cv2.resize(box_hole.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        weights = diffusion_weights(small, small_hole > 0, sigma / factor)
        weights = cv2.resize(weights, (bw, bh), interpolation=cv2.INTER_LINEAR)
    else:
        weights = diffusion_weights(box, box_hole, sigma)
    _solve(box, box_hole, np.ascontiguousarray(weights, np.float32))
    out[region] = box
    return out
