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
  the poles of a ring without caps). Above ``coarse_width`` it solves at that width (AMG-CG
  on the assembled matrix), upsamples the correction (wrapping at the seam) and refines at
  full resolution with a few iterations of MATRIX-FREE Jacobi-CG in float32
  (:class:`.poisson.GridOperator`; no full-size sparse matrix is ever assembled).
* ``"average"`` — the feathered mean ``ℓ̄`` (baseline, no gradient domain).
* ``"nearest"`` — each pixel from the view whose feather is highest (hard stitching baseline).

Back-projection: each view is resampled only on its :class:`Footprint` — the row band ×
(seam-wrapping) column band of the equirect grid that holds every pixel it covers, with
cached float32 ``cv2.remap`` maps and analytic ray cosines and feather — and accumulated in
float32 (a cube face at 110° is ~1/5 of the sphere, not all of it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from label360.sphere.mapcache import MAP_CACHE
from label360.sphere.views import View

from . import poisson
from .align import Alignment
from .estimators import Prediction
from .project import EDGE_LOG_JUMP

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


def _circular_window(any_mask: np.ndarray) -> tuple[int, int]:
    """(start, length) of the shortest circular interval holding every True entry."""
    n = any_mask.size
    idx = np.nonzero(any_mask)[0]
    if idx.size == 0:
        return 0, 0
    gaps = np.diff(np.concatenate([idx, [idx[0] + n]]))
    k = int(np.argmax(gaps))
    if gaps[k] <= 1:
        return 0, n
    start = int(idx[(k + 1) % idx.size])
    return start, (int(idx[k]) - start) % n + 1


def _view_maps(view: View, width: int, height: int, r0: int, rows: int, c0: int, cols: int):
    """(inside, px, py, cos) of equirect pixel centres rows r0+[0,rows) × cols c0+[0,cols)."""
    lon = ((np.arange(c0, c0 + cols) % width) + 0.5) / width * 2 * np.pi - np.pi
    lat = np.pi / 2 - (np.arange(r0, r0 + rows) + 0.5) / height * np.pi
    dirs = np.empty((rows, cols, 3), np.float32)
    dirs[..., 0] = np.cos(lat)[:, None] * np.sin(lon)[None, :]
    dirs[..., 1] = np.sin(lat)[:, None]
    dirs[..., 2] = np.cos(lat)[:, None] * np.cos(lon)[None, :]
    # world -> camera (row vectors: v @ R), SIMD + threaded in cv2.transform
    cam = cv2.transform(dirs, np.ascontiguousarray(view.rotation().T, dtype=np.float32))
    z = cam[..., 2]
    front = z > 1e-6
    zs = np.where(front, z, np.float32(1.0))
    f = np.float32(view.focal)
    px = cam[..., 0] / zs * f + np.float32(view.width / 2.0 - 0.5)
    py = -cam[..., 1] / zs * f + np.float32(view.height / 2.0 - 0.5)
    inside = front & (px >= -0.5) & (px <= view.width - 0.5)
    inside &= (py >= -0.5) & (py <= view.height - 0.5)
    return inside, px, py, z


@dataclass
class Footprint:
    """Where one view lands on a W×H equirect grid: rows ``r0 + [0, rows)`` × columns
    ``c0 + [0, cols)`` (mod W, so a band may wrap at the seam), holding every pixel it covers.

    ``px``, ``py``: view pixel coordinates of the band's pixel centres (float32 maps for
    ``cv2.remap``, −10 outside the view); ``inside``: pixels whose centre the view covers;
    ``cos``: cosine of each ray to the optical axis; ``feather``: blending weight, 1 at the
    view centre falling to 0 at its border (both analytic, no resampling).
    """

    r0: int
    c0: int
    px: np.ndarray
    py: np.ndarray
    inside: np.ndarray
    cos: np.ndarray
    feather: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.px.shape


def _build_footprint(view: View, width: int, height: int) -> Footprint:
    # probe at <= 720 px wide for the band, with one probe cell of margin on every side
    pw = min(width, 720)
    ph = max(1, pw // 2)
    probe = _view_maps(view, pw, ph, 0, ph, 0, pw)[0]
    rows_any = np.nonzero(probe.any(axis=1))[0]
    if rows_any.size == 0:
        r0 = rows = c0 = cols = 0
    else:
        r0 = max(0, int(np.floor((rows_any[0] - 1) * height / ph)))
        rows = min(height, int(np.ceil((rows_any[-1] + 2) * height / ph))) - r0
        start, length = _circular_window(probe.any(axis=0))
        if length + 3 >= pw:
            c0, cols = 0, width
        else:
            c0 = int(np.floor((start - 1) * width / pw)) % width
            cols = min(width, int(np.ceil((length + 2) * width / pw)) + 1)
    inside, px, py, cos = _view_maps(view, width, height, r0, rows, c0, cols)
    px = np.where(inside, px, np.float32(-10))
    py = np.where(inside, py, np.float32(-10))
    xn = np.abs((px + np.float32(0.5)) * np.float32(2.0 / view.width) - np.float32(1))
    yn = np.abs((py + np.float32(0.5)) * np.float32(2.0 / view.height) - np.float32(1))
    fea = np.maximum((1 - np.minimum(xn, 1)) * (1 - np.minimum(yn, 1)), np.float32(1e-4))
    fea = np.where(inside, fea, np.float32(0))
    return Footprint(r0, c0, px, py, inside, cos, fea)


def footprint(view: View, width: int, height: int) -> Footprint:
    """The :class:`Footprint` of ``view`` on the W×H equirect grid, cached in
    ``label360.sphere.mapcache.MAP_CACHE`` (stored as a tuple of arrays, so that its LRU
    bound counts the bytes: ~100 MB for a cube layout at 4096×2048).

    A yaw that is a whole number of equirect columns only shifts the band: views that differ
    by such a yaw (the four side faces of a cube) share one set of maps.
    """
    step = 360.0 / width
    shift = round(view.yaw / step)
    if abs(view.yaw / step - shift) > 1e-6:
        shift = 0
    yaw = view.yaw - shift * step if shift else view.yaw
    key = ("depth-footprint", yaw, view.pitch, view.roll, view.hfov, view.width,
           view.height, width, height)  # fmt: skip

    def build():
        base = View(yaw, view.pitch, view.roll, view.hfov, view.width, view.height)
        fp = _build_footprint(base, width, height)
        return (np.array([fp.r0, fp.c0]), fp.px, fp.py, fp.inside, fp.cos, fp.feather)

    origin, px, py, inside, cos, feather = MAP_CACHE.get(key, build)
    c0 = (int(origin[1]) + shift) % width
    return Footprint(int(origin[0]), c0, px, py, inside, cos, feather)


def _log_distance(kind: str, values, cos, valid, scale: float, shift: float) -> np.ndarray:
    """Aligned log-distance (float32) like :func:`.align.aligned_log_distance`; nan = invalid."""
    c = np.clip(cos, np.float32(1e-3), np.float32(1.0))
    p = np.where(valid, values, np.float32(1.0))
    if kind == "inverse":
        inv = (np.float32(scale) * p + np.float32(shift)) * c
        ok = valid & (inv > 0)
        out = -np.log(np.where(ok, inv, np.float32(1.0)))
    else:
        out = np.log(np.float32(scale) * p)
        if kind == "z":
            out -= np.log(c)
        ok = valid
    return np.where(ok, out, np.float32(np.nan))


def project_log_distance(
    view: View, pred: Prediction, fp: Footprint, kind: str, scale: float, shift: float
) -> np.ndarray:
    """One view's aligned log-distance on its footprint band (nan where it has none).

    Bilinear samples, except across a depth discontinuity (bilinear and nearest samples
    differ by more than ``EDGE_LOG_JUMP`` in log), where bilinear mixing would invent
    surfaces in between: there the nearest sample is taken (as :func:`.project_prediction`).
    """
    src = np.ascontiguousarray(np.where(pred.valid, pred.values, 0), dtype=np.float32)
    lin = cv2.remap(src, fp.px, fp.py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    near = cv2.remap(src, fp.px, fp.py, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.maximum(lin, 1e-30) / np.maximum(near, 1e-30)
        jump = np.abs(np.log(ratio)) > EDGE_LOG_JUMP
    values = np.where(jump, near, lin)
    valid = fp.inside & (values > 0)
    if not pred.valid.all():
        mask = cv2.remap(pred.valid.astype(np.float32), fp.px, fp.py, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        valid &= mask > 0.999
    return _log_distance(kind, values, fp.cos, valid, scale, shift)


def _pieces(c0: int, cols: int, width: int) -> list[tuple[slice, slice]]:
    """(global columns, band columns) slices of a band starting at c0 (wrapping at W)."""
    first = min(cols, width - c0)
    out = [(slice(c0, c0 + first), slice(0, first))]
    if cols > first:
        out.append((slice(0, cols - first), slice(first, cols)))
    return out


def accumulate(
    views: Sequence[View],
    preds: Sequence[Prediction],
    alignment: Alignment,
    width: int,
    height: int,
    nearest: bool = True,
) -> Accumulated:
    """Project every view at width×height and accumulate gradients and means (float32);
    the hard-stitched map ``nearest`` only when asked (all nan otherwise).

    Each view is resampled only on its footprint band (cached maps, ``cv2.remap``), not on
    the whole sphere.
    """
    f32 = np.float32
    gx_n = np.zeros((height, width), f32)
    gx_d = np.zeros((height, width), f32)
    gy_n = np.zeros((height - 1, width), f32)
    gy_d = np.zeros((height - 1, width), f32)
    s_w = np.zeros((height, width), f32)
    s_wl = np.zeros((height, width), f32)
    best_w = np.zeros((height, width), f32)
    want_nearest = nearest
    nearest = np.full((height, width), np.nan, f32)
    for i, (view, pred) in enumerate(zip(views, preds, strict=True)):
        fp = footprint(view, width, height)
        rows, cols = fp.shape
        if rows == 0 or cols == 0:
            continue
        scale, shift = float(alignment.scale[i]), float(alignment.shift[i])
        ell = project_log_distance(view, pred, fp, alignment.kind, scale, shift)
        ok = np.isfinite(ell)
        f = np.where(ok, fp.feather, f32(0))
        ell0 = np.where(ok, ell, f32(0))
        fe = np.zeros_like(f)
        ge = np.zeros_like(f)
        if cols == width:  # the band wraps all around: east of the last column is column 0
            np.minimum(f, np.roll(f, -1, axis=1), out=fe)
            np.subtract(np.roll(ell0, -1, axis=1), ell0, out=ge)
        else:  # east of the band's last column lies outside the view (weight 0)
            np.minimum(f[:, :-1], f[:, 1:], out=fe[:, :-1])
            np.subtract(ell0[:, 1:], ell0[:, :-1], out=ge[:, :-1])
        ge *= fe
        fs = np.minimum(f[:-1], f[1:])
        gs = (ell0[1:] - ell0[:-1]) * fs
        r0, r1 = fp.r0, fp.r0 + rows
        ry = slice(r0, r1 - 1)  # south edges inside the band (the last row's leads out)
        for g, b in _pieces(fp.c0, cols, width):
            s_w[r0:r1, g] += f[:, b]
            s_wl[r0:r1, g] += f[:, b] * ell0[:, b]
            gx_n[r0:r1, g] += ge[:, b]
            gx_d[r0:r1, g] += fe[:, b]
            gy_n[ry, g] += gs[:, b]
            gy_d[ry, g] += fs[:, b]
            if want_nearest:
                take = f[:, b] > best_w[r0:r1, g]
                best_w[r0:r1, g] = np.where(take, f[:, b], best_w[r0:r1, g])
                nearest[r0:r1, g] = np.where(take, ell[:, b], nearest[r0:r1, g])
    with np.errstate(invalid="ignore", divide="ignore"):
        gx = np.where(gx_d > 0, gx_n / gx_d, f32(0))
        gy = np.where(gy_d > 0, gy_n / gy_d, f32(0))
        mean = np.where(s_w > 0, s_wl / s_w, f32(np.nan))
    return Accumulated(gx, gx_d, gy, gy_d, mean, s_w, nearest)


def _fill(mean: np.ndarray) -> np.ndarray:
    """Replace nan by the mean of the finite values (a start value only)."""
    finite = np.isfinite(mean)
    fill = float(np.mean(mean[finite], dtype=np.float64)) if finite.any() else 0.0
    return np.where(finite, mean, mean.dtype.type(fill))


def _weights(acc: Accumulated, data_scale_deg: float):
    h, w = acc.mean.shape
    ex, sy, area = poisson.metric_weights(h)
    # edges no view sees keep their metric weight with gradient 0 (harmonic fill)
    # (one weight per row: the metric alone; broadcast where a full array is needed)
    wx = ex[:, None].astype(acc.mean.dtype)
    wy = sy[:, None].astype(acc.mean.dtype)
    pixel = 2 * np.pi / w
    lam = (pixel / np.radians(data_scale_deg)) ** 2
    seen = np.isfinite(acc.mean)
    dw = np.where(seen, (lam * area[:, None]).astype(acc.mean.dtype), acc.mean.dtype.type(0))
    return wx, wy, dw


def _system(acc: Accumulated, data_scale_deg: float):
    """Assembled sparse system (float64) — used below ``coarse_width`` and for baselines."""
    wx, wy, dw = _weights(acc, data_scale_deg)
    h, w = dw.shape
    wx, wy = np.broadcast_to(wx, (h, w)), np.broadcast_to(wy, (h - 1, w))
    return poisson.assemble(acc.gx, wx, acc.gy, wy, _fill(acc.mean), dw)


def _grid_system(acc: Accumulated, data_scale_deg: float, filled: np.ndarray):
    """The same system matrix-free (float32): :class:`.poisson.GridOperator` and rhs."""
    wx, wy, dw = _weights(acc, data_scale_deg)
    return poisson.grid_system(acc.gx, wx, acc.gy, wy, filled, dw)


@dataclass
class FusionResult:
    log_distance: np.ndarray  # (H, W) float32
    timings: dict[str, float] = field(default_factory=dict)
    solves: list = field(default_factory=list)
    start: np.ndarray | None = None  # the full-resolution refine's start (coarse-to-fine)


def fuse(
    views: Sequence[View],
    preds: Sequence[Prediction],
    alignment: Alignment,
    width: int,
    height: int,
    fusion: str = "poisson",
    coarse_width: int = 512,
    refine_iterations: int = 10,
    data_scale_deg: float = 90.0,
    rtol: float = 1e-6,
    progress: Callable[[str], None] | None = None,
) -> FusionResult:
    """Fuse the aligned views into an equirect log-distance map (see module docstring)."""
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {FUSIONS}")
    timings: dict[str, float] = {}
    t = time.perf_counter()
    acc = accumulate(views, preds, alignment, width, height, nearest=fusion == "nearest")
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
        cacc = accumulate(views, preds, alignment, cw, ch, nearest=False)
        a, b = _system(cacc, data_scale_deg)
        timings["coarse accumulate+assemble"] = time.perf_counter() - t
        xc, info = poisson.solve(a, b, x0=_fill(cacc.mean).ravel(), preconditioner="amg", rtol=rtol)
        result.solves.append(info)
        timings["coarse AMG-CG solve"] = info.seconds
        t = time.perf_counter()
        correction = (xc.reshape(ch, cw) - _fill(cacc.mean)).astype(np.float32)
        # upsample with one wrapped column on each side, so the seam interpolates across
        k = width // cw
        wrapped = np.concatenate([correction[:, -1:], correction, correction[:, :1]], axis=1)
        up = cv2.resize(wrapped, (width + 2 * k, height), interpolation=cv2.INTER_LINEAR)
        filled = _fill(acc.mean)
        x0 = filled + up[:, k : k + width]
        op, b = _grid_system(acc, data_scale_deg, filled)
        timings["full system (matrix-free)"] = time.perf_counter() - t
        result.start = x0
        x, info = poisson.grid_pcg(op, b, x0, maxiter=refine_iterations, rtol=rtol)
        result.solves.append(info)
        timings["full Jacobi-CG refine (matrix-free)"] = info.seconds
    else:
        t = time.perf_counter()
        a, b = _system(acc, data_scale_deg)
        timings["assemble"] = time.perf_counter() - t
        x, info = poisson.solve(a, b, x0=_fill(acc.mean).ravel(), preconditioner="amg", rtol=rtol)
        result.solves.append(info)
        timings["AMG-CG solve"] = info.seconds
    result.log_distance = x.reshape(height, width).astype(np.float32)
    return result
