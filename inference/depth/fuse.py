"""Fusing aligned views into one equirect log-distance map (step 4).

Each view contributes, where it is valid, its aligned log-distance ``ℓ_i`` and a feather
weight ``f_i`` (1 at its centre, 0 at its border). Accumulated over views:

* the target gradient of every grid edge: the feather-weighted mean of the views' own
  differences ``ℓ_i(q) − ℓ_i(p)`` over the views that see both ends (so a view border never
  creates a gradient: no seams);
* a feather-weighted mean ``ℓ̄`` used as a weak data term (fixes the constant, fills gaps).

``fusion``:

* ``"poisson"`` — gradient-domain fusion: screened Poisson solve (see ``poisson``); pixels no
  view sees are filled harmonically (smoothest continuation — the fill strategy for holes at
  the poles of a ring without caps). Above ``coarse_width`` it solves at that width (AMG-CG)
  and refines at full resolution with Jacobi-CG started from the upsampled solution.
* ``"average"`` — the feathered mean ``ℓ̄`` (baseline, no gradient domain).
* ``"nearest"`` — each pixel from the view whose feather is highest (hard stitching baseline).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from label360.sphere.views import View

from . import poisson
from .align import Alignment
from .estimators import Prediction
from .project import project_prediction

FUSIONS = ("poisson", "average", "nearest")


@dataclass
class Accumulated:
    gx: np.ndarray  # target east differences (H, W)
    wx: np.ndarray  # their confidence (sum of weights)
    gy: np.ndarray  # target south differences (H-1, W)
    wy: np.ndarray
    mean: np.ndarray  # feathered mean log-distance (nan where unseen)
    coverage: np.ndarray  # sum of feather weights
    nearest: np.ndarray  # hard-stitched log-distance (nan where unseen)


def accumulate(
    views: Sequence[View],
    preds: Sequence[Prediction],
    alignment: Alignment,
    width: int,
    height: int,
) -> Accumulated:
    """Project every view at width×height and accumulate gradients and means."""
    gx_n = np.zeros((height, width), np.float64)
    gx_d = np.zeros((height, width), np.float64)
    gy_n = np.zeros((height - 1, width), np.float64)
    gy_d = np.zeros((height - 1, width), np.float64)
    s_w = np.zeros((height, width), np.float64)
    s_wl = np.zeros((height, width), np.float64)
    best_w = np.zeros((height, width), np.float32)
    nearest = np.full((height, width), np.nan, np.float32)
    for i, (view, pred) in enumerate(zip(views, preds, strict=True)):
        proj = project_prediction(view, pred, width, height)
        ell = alignment.log_distance(i, proj)
        ok = np.isfinite(ell)
        f = np.where(ok, proj.weight, 0).astype(np.float32)
        ell0 = np.where(ok, ell, 0).astype(np.float32)
        s_w += f
        s_wl += f * ell0
        take = f > best_w
        best_w = np.where(take, f, best_w)
        nearest = np.where(take, ell, nearest)
        fe = np.minimum(f, np.roll(f, -1, axis=1))
        gx_n += fe * (np.roll(ell0, -1, axis=1) - ell0)
        gx_d += fe
        fs = np.minimum(f[:-1], f[1:])
        gy_n += fs * (ell0[1:] - ell0[:-1])
        gy_d += fs
    with np.errstate(invalid="ignore", divide="ignore"):
        gx = np.where(gx_d > 0, gx_n / gx_d, 0.0)
        gy = np.where(gy_d > 0, gy_n / gy_d, 0.0)
        mean = np.where(s_w > 0, s_wl / s_w, np.nan)
    return Accumulated(gx, gx_d, gy, gy_d, mean, s_w, nearest)


def _fill(mean: np.ndarray) -> np.ndarray:
    """Replace nan by the mean of the finite values (a start value only)."""
    finite = np.isfinite(mean)
    return np.where(finite, mean, float(np.mean(mean[finite])) if finite.any() else 0.0)


def _system(acc: Accumulated, data_scale_deg: float):
    h, w = acc.mean.shape
    ex, sy, area = poisson.metric_weights(h)
    # edges no view sees keep their metric weight with gradient 0 (harmonic fill)
    wx = ex[:, None] * np.ones((h, w))
    wy = sy[:, None] * np.ones((h - 1, w))
    pixel = 2 * np.pi / w
    lam = (pixel / np.radians(data_scale_deg)) ** 2
    seen = np.isfinite(acc.mean)
    dw = np.where(seen, lam * area[:, None], 0.0)
    return poisson.assemble(acc.gx, wx, acc.gy, wy, _fill(acc.mean), dw)


@dataclass
class FusionResult:
    log_distance: np.ndarray  # (H, W) float32
    timings: dict[str, float] = field(default_factory=dict)
    solves: list = field(default_factory=list)


def fuse(
    views: Sequence[View],
    preds: Sequence[Prediction],
    alignment: Alignment,
    width: int,
    height: int,
    fusion: str = "poisson",
    coarse_width: int = 512,
    refine_iterations: int = 40,
    data_scale_deg: float = 90.0,
    rtol: float = 1e-6,
    progress: Callable[[str], None] | None = None,
) -> FusionResult:
    """Fuse the aligned views into an equirect log-distance map (see module docstring)."""
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {FUSIONS}")
    timings: dict[str, float] = {}
    t = time.perf_counter()
    acc = accumulate(views, preds, alignment, width, height)
    timings["project+accumulate"] = time.perf_counter() - t
    if fusion == "average":
        return FusionResult(_fill(acc.mean).astype(np.float32), timings)
    if fusion == "nearest":
        return FusionResult(_fill(acc.nearest).astype(np.float32), timings)
    result = FusionResult(np.empty(0), timings)
    if width > coarse_width:
        cw = coarse_width
        ch = cw // 2
        t = time.perf_counter()
        cacc = accumulate(views, preds, alignment, cw, ch)
        a, b = _system(cacc, data_scale_deg)
        timings["coarse accumulate+assemble"] = time.perf_counter() - t
        xc, info = poisson.solve(a, b, x0=_fill(cacc.mean).ravel(), preconditioner="amg", rtol=rtol)
        result.solves.append(info)
        timings["coarse AMG-CG solve"] = info.seconds
        t = time.perf_counter()
        correction = xc.reshape(ch, cw) - _fill(cacc.mean)
        up = cv2.resize(
            correction.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR
        )
        x0 = (_fill(acc.mean) + up).ravel()
        a, b = _system(acc, data_scale_deg)
        timings["full assemble"] = time.perf_counter() - t
        x, info = poisson.solve(
            a, b, x0=x0, preconditioner="jacobi", rtol=rtol, maxiter=refine_iterations
        )
        result.solves.append(info)
        timings["full Jacobi-CG refine"] = info.seconds
    else:
        t = time.perf_counter()
        a, b = _system(acc, data_scale_deg)
        timings["assemble"] = time.perf_counter() - t
        x, info = poisson.solve(a, b, x0=_fill(acc.mean).ravel(), preconditioner="amg", rtol=rtol)
        result.solves.append(info)
        timings["AMG-CG solve"] = info.seconds
    result.log_distance = x.reshape(height, width).astype(np.float32)
    return result
