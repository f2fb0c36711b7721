"""Filling clipped pixels of one channel in the gradient domain on the sphere.

The unknown is the log radiance ``x`` on the equirect grid. Known (unclipped) pixels hold their
observed value through a strong data term; in clipped pixels ``x`` follows guidance gradients
(those of a model's log radiance, e.g. the fitted sky) plus an optional Laplacian source ``κ``
(``Δx = −κ``, the smooth "expand" bump that rises from the border into a clipped region).
The model is thereby joined to the unclipped border without a step: whatever the model gets
wrong at the border becomes a harmonic correction that fades into the region (Poisson image
editing, on the sphere). Edges carry the sphere's metric
(:func:`inference.depth.poisson.metric_weights`; east edges wrap at the seam). Known pixels
are held fixed, so only clipped pixels are unknowns: solved exactly (sparse LU) at a coarse
width, then at full resolution Jacobi-CG refines the band of clipped pixels near the border
(deeper pixels keep the upsampled coarse solution, which is smooth there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.linalg import LinearOperator, cg, spsolve

from inference.depth import poisson

__all__ = ["FillProblem", "fill_log", "dilate_wrapped", "ring_labels"]


@dataclass
class FillProblem:
    """One channel's inputs (all (H, W) float32 / bool on the equirect grid)."""

    observed: NDArray  # log radiance; read where ``known``
    known: NDArray  # bool
    guide: NDArray  # log model radiance; its differences guide edges that touch ``modelled``
    modelled: NDArray  # bool: unknown pixels that follow ``guide`` (others follow 0 + source)
    source: NDArray  # κ (per radian², log units) in unknown pixels
    #: log of another, unclipped channel: where it is known at both ends of an edge its
    #: difference is the guidance (the chromaticity stays smooth across a one-channel clip)
    proxy: NDArray | None = None
    proxy_known: NDArray | None = None


def _targets(p: FillProblem, a: NDArray, b: NDArray) -> NDArray:
    """Guidance of ``x_b − x_a`` for edges between flat pixel indices ``a`` and ``b``.

    Known at both ends: the observed difference. Otherwise, in order of preference: the
    proxy channel's difference where it is known at both ends, the model's difference where
    either end is modelled, else 0 (the membrane, plus the source term).
    """
    obs, known = p.observed.ravel(), p.known.ravel()
    out = np.where(known[a] & known[b], obs[b] - obs[a], 0.0)
    modelled = p.modelled.ravel()
    model = modelled[a] | modelled[b]
    if model.any():
        guide = p.guide.ravel()
        out = np.where(model & ~(known[a] & known[b]), guide[b] - guide[a], out)
    if p.proxy is not None and p.proxy_known is not None:
        pk, px = p.proxy_known.ravel(), p.proxy.ravel()
        use = pk[a] & pk[b] & ~(known[a] & known[b])
        out = np.where(use, px[b] - px[a], out)
    return out.astype(np.float64)


def _dirichlet_system(
    p: FillProblem, free: NDArray, fixed: NDArray
) -> tuple[sp.csr_matrix, NDArray, NDArray]:
    """Normal equations of the guided energy for the ``free`` pixels, others held at ``fixed``.

    Row of free pixel p: ``Σ_q ω_pq (x_p − x_q) = −Σ_q ω_pq t_pq + κ_p cos(lat) h²`` over its
    four neighbours q (east/west wrap at the seam; the pole rows have three), with ``t_pq``
    the guidance of ``x_q − x_p``; fixed neighbours move to the right-hand side. Edge weights
    are the sphere's metric of :func:`inference.depth.poisson.metric_weights` (east ``1/cos
    lat``, south ``cos lat`` of the edge). Built from the free pixels only, so a thin band at
    full resolution costs what the band holds. Returns (A, b, flat indices).
    """
    h, w = free.shape
    ex, sy, area = poisson.metric_weights(h)
    flat = np.flatnonzero(free)
    n = len(flat)
    index = np.full(h * w, -1, np.int64)
    index[flat] = np.arange(n)
    r, c = np.divmod(flat, w)
    fixed_flat = fixed.ravel()
    diag = np.zeros(n)
    rhs = (p.source.ravel()[flat] * area[r] * (math.pi / h) ** 2).astype(np.float64)
    rows, cols, vals = [], [], []
    rows_all = np.arange(n)
    neighbours = (
        (np.ones(n, bool), r * w + (c + 1) % w, ex[r]),
        (np.ones(n, bool), r * w + (c - 1) % w, ex[r]),
        (r < h - 1, np.minimum(r + 1, h - 1) * w + c, sy[np.minimum(r, h - 2)]),
        (r > 0, np.maximum(r - 1, 0) * w + c, sy[np.maximum(r - 1, 0)]),
    )
    for has, q, weight in neighbours:
        sel = np.nonzero(has)[0]
        qs, ws = q[sel], weight[sel].astype(np.float64)
        diag[sel] += ws
        rhs[sel] -= ws * _targets(p, flat[sel], qs)
        iq = index[qs]
        free_q = iq >= 0
        rows.append(rows_all[sel][free_q])
        cols.append(iq[free_q])
        vals.append(-ws[free_q])
        held = ~free_q
        rhs[sel[held]] += ws[held] * fixed_flat[qs[held]]
    a = sp.csr_matrix(
        (np.concatenate([*vals, diag]), (np.concatenate([*rows, rows_all]),
         np.concatenate([*cols, rows_all]))),
        shape=(n, n),
    )  # fmt: skip
    return a, rhs, flat


def _solve_direct(p: FillProblem) -> NDArray:
    """All unknown pixels solved exactly (sparse LU), the known ones held."""
    free = ~p.known
    fixed = np.where(p.known, p.observed, 0.0)
    a, b, flat = _dirichlet_system(p, free, fixed)
    x = np.where(p.known, p.observed, p.guide).astype(np.float64).ravel()
    x[flat] = spsolve(a.tocsc(), b)
    return x.reshape(free.shape).astype(np.float32)


def _refine_band(p: FillProblem, x0: NDArray, band: int, iterations: int) -> NDArray:
    """Jacobi-CG on the clipped pixels within ``band`` pixels of a known one.

    Deeper pixels keep the upsampled coarse solution (smooth there) and act as fixed values.
    """
    unknown = ~p.known
    near = dilate_wrapped(p.known, band) & unknown
    if not near.any():
        return x0
    a, b, flat = _dirichlet_system(p, near, x0)
    inv = 1.0 / a.diagonal()
    m = LinearOperator(a.shape, matvec=lambda v: inv * v, dtype=np.float64)
    start = x0.ravel()[flat].astype(np.float64)
    x, _ = cg(a, b, x0=start, rtol=1e-6, atol=0.0, maxiter=iterations, M=m)
    out = x0.copy().ravel()
    out[flat] = x
    return out.reshape(x0.shape)


def dilate_wrapped(mask: NDArray, radius: int) -> NDArray:
    """Dilation by ``radius`` pixels (square) on the equirect grid, columns wrapping."""
    r = int(radius)
    pad = np.concatenate([mask[:, -r:], mask, mask[:, :r]], axis=1).astype(np.uint8)
    out = cv2.dilate(pad, np.ones((2 * r + 1, 2 * r + 1), np.uint8))
    return out[:, r:-r].astype(bool)


def ring_labels(labels: NDArray, radius: int) -> NDArray:
    """Each unlabelled pixel within ``radius`` of a region gets that region's label (the
    highest where two are that close), columns wrapping; labelled pixels get 0."""
    r = int(radius)
    pad = np.concatenate([labels[:, -r:], labels, labels[:, :r]], axis=1).astype(np.float32)
    grown = cv2.dilate(pad, np.ones((2 * r + 1, 2 * r + 1), np.uint8))[:, r:-r]
    return np.where(labels > 0, 0, grown).astype(np.int32)


def _area(a: NDArray, width: int) -> NDArray:
    return cv2.resize(a.astype(np.float32), (width, width // 2), interpolation=cv2.INTER_AREA)


def fill_log(p: FillProblem, coarse_width: int = 512, refine_iterations: int = 60) -> NDArray:
    """Log radiance (H, W) float32: observed where known, filled in the gradient domain elsewhere."""
    h, w = p.known.shape
    if p.known.all():
        return p.observed.astype(np.float32)
    if not p.known.any():
        raise ValueError("no known pixel to fill from")
    if w <= coarse_width:
        return _solve_direct(p)
    cw = coarse_width
    k = w // cw
    known_c = _area(p.known, cw) >= 0.999
    obs_known = np.where(p.known, p.observed, 0.0)
    count = np.maximum(_area(p.known, cw), 1e-6)
    coarse = FillProblem(
        observed=(_area(obs_known, cw) / count).astype(np.float32),
        known=known_c,
        guide=_area(p.guide, cw),
        modelled=_area(p.modelled, cw) > 0,
        source=_area(p.source, cw) / np.maximum(_area(~p.known, cw), 1e-6),
    )
    if p.proxy is not None and p.proxy_known is not None:
        proxy_count = np.maximum(_area(p.proxy_known, cw), 1e-6)
        coarse.proxy = _area(np.where(p.proxy_known, p.proxy, 0.0), cw) / proxy_count
        coarse.proxy_known = _area(p.proxy_known, cw) >= 0.999
    if not known_c.any():
        raise ValueError("no known pixel to fill from at the coarse level")
    xc = _solve_direct(coarse)
    # upsample the correction to the guide (not the solution): the guide keeps its fine detail
    corr = xc - np.where(coarse.modelled, coarse.guide, 0.0)
    wrapped = np.concatenate([corr[:, -1:], corr, corr[:, :1]], axis=1)
    up = cv2.resize(wrapped, (w + 2 * k, h), interpolation=cv2.INTER_LINEAR)[:, k : k + w]
    x0 = np.where(p.known, p.observed, up + np.where(p.modelled, p.guide, 0.0)).astype(np.float32)
    x = _refine_band(p, x0, band=3 * k + 2, iterations=refine_iterations)
    return np.where(p.known, p.observed, x).astype(np.float32)
