"""Global scale (and shift) alignment of all views at once (step 3).

Every equirect pixel seen by two views i, j gives one equation that their corrected
predictions describe the same DISTANCE along that pixel's ray:

* ``z`` / ``distance`` predictions (known up to scale): in log-distance the scale is an
  offset, ``(log p_i − log cos_i + s_i) − (log p_j − log cos_j + s_j) = 0``, unknowns ``s``.
* ``inverse`` predictions (MiDaS-like, up to scale and shift of inverse z-depth): inverse
  distance is ``(a·p + b)·cos``, so ``(a_i p_i + b_i) c_i − (a_j p_j + b_j) c_j = 0`` is
  linear in ``(a, b)``. The ``cos`` factors differ between views in an overlap, which is what
  makes the shifts observable.

All equations of all overlaps form one sparse least-squares problem (one row per pixel
and view pair, area-weighted by cos(latitude)), solved through its sparse normal
equations; view 0 is the gauge
(``s_0 = 0`` resp. ``a_0 = 1``). A few re-weighted passes make it robust (Cauchy weights on
relative residuals) against occlusion edges and estimator outliers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from .project import Projected

#: relative ridge on the shifts (inverse mode), see solve_alignment
SHIFT_RIDGE = 1e-5


@dataclass
class Alignment:
    """Per-view corrections: log-scale offsets (log mode) or (a, b) (inverse mode)."""

    kind: str
    scale: np.ndarray  # log mode: exp(s_i); inverse mode: a_i
    shift: np.ndarray  # inverse mode: b_i; zeros otherwise
    rms: float  # final weighted RMS residual (relative)
    equations: int

    def log_distance(self, i: int, proj: Projected) -> np.ndarray:
        """Aligned log-distance of view i on its projected grid (invalid pixels -> nan)."""
        return aligned_log_distance(self.kind, proj, float(self.scale[i]), float(self.shift[i]))


def aligned_log_distance(kind: str, proj: Projected, scale: float, shift: float) -> np.ndarray:
    p = np.where(proj.valid, proj.values, 1.0).astype(np.float64)
    c = np.clip(proj.cos, 1e-3, 1.0)
    if kind == "inverse":
        inv_distance = (scale * p + shift) * c
        ok = proj.valid & (inv_distance > 0)
        out = -np.log(np.where(ok, inv_distance, 1.0))
    else:
        out = np.log(scale * p) - (np.log(c) if kind == "z" else 0.0)
        ok = proj.valid
    return np.where(ok, out, np.nan).astype(np.float32)


def identity_alignment(kind: str, n: int) -> Alignment:
    return Alignment(kind, np.ones(n), np.zeros(n), float("nan"), 0)


def _area_weights(height: int, width: int) -> np.ndarray:
    lat = np.pi / 2 - (np.arange(height) + 0.5) / height * np.pi
    return np.repeat(np.cos(lat)[:, None], width, axis=1).ravel()


def solve_alignment(projs: list[Projected], kind: str, iterations: int = 4) -> Alignment:
    """Solve all views' corrections jointly (see module docstring)."""
    n = len(projs)
    h, w = projs[0].valid.shape
    area = _area_weights(h, w)
    valid = np.stack([p.valid.ravel() for p in projs])
    pairs = []
    for i, j in itertools.combinations(range(n), 2):
        idx = np.nonzero(valid[i] & valid[j])[0]
        if idx.size:
            pairs.append((i, j, idx))
    if not pairs:
        raise ValueError("the views do not overlap: cannot align them")
    log_mode = kind != "inverse"
    if log_mode:
        ell = [aligned_log_distance(kind, p, 1.0, 0.0).ravel().astype(np.float64) for p in projs]
        cols_of = {i: i - 1 for i in range(1, n)}  # s_0 fixed
        n_unknowns = n - 1
    else:
        pc = [(np.where(p.valid, p.values, 0) * p.cos).ravel().astype(np.float64) for p in projs]
        cc = [p.cos.ravel().astype(np.float64) for p in projs]
        n_unknowns = 2 * n - 1  # a_1..a_{n-1}, b_0..b_{n-1}

    rows, cols, vals, rhs, row_area, row_pix = [], [], [], [], [], []
    r0 = 0
    for i, j, idx in pairs:
        m = idx.size
        r = np.arange(r0, r0 + m)
        if log_mode:
            for v, sign in ((i, 1.0), (j, -1.0)):
                if v in cols_of:
                    rows.append(r)
                    cols.append(np.full(m, cols_of[v]))
                    vals.append(np.full(m, sign))
            rhs.append(-(ell[i][idx] - ell[j][idx]))
        else:
            b_rhs = np.zeros(m)
            for v, sign in ((i, 1.0), (j, -1.0)):
                if v == 0:
                    b_rhs -= sign * pc[0][idx]
                else:
                    rows.append(r)
                    cols.append(np.full(m, v - 1))
                    vals.append(sign * pc[v][idx])
                rows.append(r)
                cols.append(np.full(m, n - 1 + v))
                vals.append(sign * cc[v][idx])
            rhs.append(b_rhs)
        row_area.append(area[idx])
        row_pix.append((i, j, idx))
        r0 += m
    a_mat = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(r0, n_unknowns),
    )
    rhs_v = np.concatenate(rhs)
    base_w = np.concatenate(row_area)
    weights = base_w.copy()
    rms = float("nan")
    for _ in range(iterations):
        # normal equations of the weighted sparse system (tiny: 2 unknowns per view)
        aw = a_mat.T @ sp.diags(weights)
        normal = (aw @ a_mat).tocsr()
        diag = normal.diagonal()
        ridge = np.full(n_unknowns, 1e-9 * max(float(diag.max()), 1e-30))
        if not log_mode:
            # A view of one plane facing it (the ground in a down-looking view) cannot tell
            # scale from shift; a weak pull of the shifts towards 0 picks the plain solution.
            ridge[n - 1 :] += SHIFT_RIDGE * diag[n - 1 :]
        x = spsolve((normal + sp.diags(ridge)).tocsc(), aw @ rhs_v)
        res = a_mat @ x - rhs_v
        scale = np.ones_like(res)
        if not log_mode:
            # relative residuals: divide by the pair's inverse-distance level (floored, so
            # the near-zero sky does not swamp everything)
            level = np.abs(_inverse_level(x, row_pix, pc, cc, n))
            scale = np.maximum(level, 0.05 * np.median(level)) + 1e-12
        rel = res / scale
        sigma = 1.4826 * np.median(np.abs(rel)) + 1e-9
        robust = 1.0 / (1.0 + (rel / (3 * sigma)) ** 2)
        weights = base_w * robust / scale**2
        rms = float(np.sqrt(np.sum(base_w * rel**2) / np.sum(base_w)))
    if log_mode:
        s = np.concatenate([[0.0], x])
        return Alignment(kind, np.exp(s), np.zeros(n), rms, r0)
    a = np.concatenate([[1.0], x[: n - 1]])
    b = x[n - 1 :]
    return Alignment(kind, a, b, rms, r0)


def _inverse_level(x, row_pix, pc, cc, n) -> np.ndarray:
    a = np.concatenate([[1.0], x[: n - 1]])
    b = x[n - 1 :]
    out = []
    for i, j, idx in row_pix:
        wi = a[i] * pc[i][idx] + b[i] * cc[i][idx]
        wj = a[j] * pc[j][idx] + b[j] * cc[j][idx]
        out.append(0.5 * (wi + wj))
    return np.concatenate(out)
