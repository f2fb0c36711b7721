"""Screened Poisson solve on the equirect grid of the sphere (wrapping at the seam).

Unknown ``x`` (H×W). Energy::

    Σ_east-edges  ωx (x_q − x_p − gx)²  +  Σ_south-edges ωy (x_q − x_p − gy)²  +  Σ_p d_p (x_p − t_p)²

East edges wrap (column W−1 → 0). The edge weights carry the sphere's metric — east edges
``1/cos(lat)``, south edges ``cos(lat of the edge)`` (W = 2H, equal angular steps) — times
the caller's confidence; ``d`` is a weak data term that fixes the constant.

The normal equations are a symmetric positive definite sparse system, solved by conjugate
gradients preconditioned with classical Ruge-Stuben algebraic multigrid (pyamg) at up to
512×256 (``assemble`` + ``solve``); at full resolution a matrix-free float32 Jacobi-CG
(``grid_system`` + ``grid_pcg``: 5-point stencil with slices, the seam wrap included) refines
the upsampled coarse solution (see ``fuse``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import saxpy, sscal
from scipy.sparse.linalg import LinearOperator, cg


def metric_weights(height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(east-edge weight per row (H,), south-edge weight per row (H−1,), pixel area (H,))."""
    lat = np.pi / 2 - (np.arange(height) + 0.5) / height * np.pi
    lat_edge = np.pi / 2 - (np.arange(1, height)) / height * np.pi
    return 1.0 / np.cos(lat), np.cos(lat_edge), np.cos(lat)


def assemble(
    gx: np.ndarray, wx: np.ndarray, gy: np.ndarray, wy: np.ndarray, target, dw
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Sparse matrix and right-hand side of the normal equations (shapes as in the energy)."""
    h, w = dw.shape
    idx = np.arange(h * w).reshape(h, w)
    p_e, q_e = idx.ravel(), np.roll(idx, -1, axis=1).ravel()
    p_s, q_s = idx[:-1].ravel(), idx[1:].ravel()
    we, ws = wx.ravel().astype(np.float64), wy.ravel().astype(np.float64)
    diag = dw.ravel().astype(np.float64).copy()
    diag += we + np.roll(wx, 1, axis=1).ravel()
    diag[: (h - 1) * w] += ws
    diag[w:] += ws
    rows = np.concatenate([p_e, q_e, p_s, q_s])
    cols = np.concatenate([q_e, p_e, q_s, p_s])
    vals = -np.concatenate([we, we, ws, ws])
    off = sp.csr_matrix((vals, (rows, cols)), shape=(h * w, h * w))
    a = off + sp.diags(diag)
    b = dw.ravel() * target.ravel()
    fe = (wx * gx).ravel().astype(np.float64)
    fs = (wy * gy).ravel().astype(np.float64)
    b = b.astype(np.float64)
    b -= fe
    b += np.roll(wx * gx, 1, axis=1).ravel()
    b[: (h - 1) * w] -= fs
    b[w:] += fs
    return a.tocsr(), b


@dataclass
class SolveInfo:
    method: str
    iterations: int
    seconds: float
    setup_seconds: float
    residual: float


def solve(
    a: sp.csr_matrix,
    b: np.ndarray,
    x0: np.ndarray | None = None,
    preconditioner: str = "amg",
    rtol: float = 1e-6,
    maxiter: int = 500,
) -> tuple[np.ndarray, SolveInfo]:
    """CG with an AMG ("amg"), Jacobi ("jacobi") or no ("none") preconditioner."""
    t0 = time.perf_counter()
    m = None
    if preconditioner == "amg":
        import pyamg

        # classical (Ruge-Stuben) AMG copes with the strong east-west coupling near the
        # poles far better than smoothed aggregation (measured: 6 vs 100+ CG iterations)
        ml = pyamg.ruge_stuben_solver(a, max_coarse=500, coarse_solver="splu")
        m = ml.aspreconditioner(cycle="V")
    elif preconditioner == "jacobi":
        inv = 1.0 / a.diagonal()
        m = LinearOperator(a.shape, matvec=lambda v: inv * v, dtype=np.float64)
    elif preconditioner != "none":
        raise ValueError(f"unknown preconditioner {preconditioner!r}")
    setup = time.perf_counter() - t0
    count = [0]

    def callback(_xk) -> None:
        count[0] += 1

    x, _ = cg(a, b, x0=x0, rtol=rtol, atol=0.0, maxiter=maxiter, M=m, callback=callback)
    res = float(np.linalg.norm(a @ x - b) / max(np.linalg.norm(b), 1e-30))
    return x, SolveInfo(preconditioner, count[0], time.perf_counter() - t0, setup, res)


@dataclass
class GridOperator:
    """Matrix-free ``A`` of the energy above on the H×W grid (float32, 5-point stencil).

    ``(A x)_p = d_p x_p + Σ_neighbours ω_pq (x_p − x_q)`` with east neighbours wrapping at
    the seam; applied with slices (no sparse matrix is ever assembled).
    """

    wx: np.ndarray  # (H, W) or (H, 1): east-edge weights (p → p+east, the last column wraps)
    wy: np.ndarray  # (H−1, W) or (H−1, 1): south-edge weights
    dw: np.ndarray  # (H, W) data weights
    diag: np.ndarray  # (H, W) diagonal of A

    @property
    def shape(self) -> tuple[int, int]:
        return self.dw.shape

    def matvec(self, x: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
        """``out = A x`` for x (H, W); ``tmp`` is scratch of the same shape."""
        np.multiply(self.diag, x, out=out)
        wx = self.wx
        if wx.shape[1] == 1:  # one weight per row: east + west neighbours in one product
            np.add(x[:, 2:], x[:, :-2], out=tmp[:, 1:-1])
            np.add(x[:, 1], x[:, -1], out=tmp[:, 0])
            np.add(x[:, 0], x[:, -2], out=tmp[:, -1])
            tmp *= wx
            out -= tmp
        else:
            # east: out[:, c] −= wx[:, c] x[:, c+1]; west: out[:, c+1] −= wx[:, c] x[:, c]
            np.multiply(wx[:, :-1], x[:, 1:], out=tmp[:, :-1])
            np.multiply(wx[:, -1], x[:, 0], out=tmp[:, -1])
            out -= tmp
            np.multiply(wx[:, :-1], x[:, :-1], out=tmp[:, 1:])
            np.multiply(wx[:, -1], x[:, -1], out=tmp[:, 0])
            out -= tmp
        t = tmp[:-1]
        np.multiply(self.wy, x[1:], out=t)
        out[:-1] -= t
        np.multiply(self.wy, x[:-1], out=t)
        out[1:] -= t
        return out


def grid_system(
    gx: np.ndarray, wx: np.ndarray, gy: np.ndarray, wy: np.ndarray, target, dw
) -> tuple[GridOperator, np.ndarray]:
    """Matrix-free operator and right-hand side (H, W), float32; same system as ``assemble``.

    ``wx``/``wy`` may be (H, 1)/(H−1, 1) (one weight per row, the sphere's metric alone):
    they are then never expanded, and ``matvec`` reads two fewer full-size arrays.
    """
    f32 = np.float32
    wx = np.ascontiguousarray(wx, dtype=f32)
    wy = np.ascontiguousarray(wy, dtype=f32)
    dw = np.ascontiguousarray(dw, dtype=f32)
    diag = dw + wx + np.roll(wx, 1, axis=1)
    diag[:-1] += wy
    diag[1:] += wy
    fe = wx * np.asarray(gx, f32)
    fs = wy * np.asarray(gy, f32)
    b = dw * np.asarray(target, f32) - fe + np.roll(fe, 1, axis=1)
    b[:-1] -= fs
    b[1:] += fs
    return GridOperator(wx, wy, dw, diag), b


def _axpy(a: float, x: np.ndarray, y: np.ndarray) -> None:
    """y += a x in place (BLAS saxpy on contiguous float32; copied back if BLAS did not)."""
    out = saxpy(x, y, a=a)
    if out is not y:
        y[...] = out


def grid_pcg(
    op: GridOperator,
    b: np.ndarray,
    x0: np.ndarray,
    maxiter: int = 20,
    rtol: float = 1e-6,
    preconditioner: str = "jacobi",
) -> tuple[np.ndarray, SolveInfo]:
    """CG on a :class:`GridOperator` (float32, preallocated buffers), Jacobi-preconditioned
    (``"jacobi"``) or not (``"none"``, a baseline).

    ``SolveInfo.residual`` is the final relative residual ‖b − A x‖ / ‖b‖.
    """
    t0 = time.perf_counter()
    f32 = np.float32
    x = np.array(x0, dtype=f32, copy=True).reshape(op.shape)
    b = np.asarray(b, f32).reshape(op.shape)
    if preconditioner not in ("jacobi", "none"):
        raise ValueError(f"unknown preconditioner {preconditioner!r}")
    inv = (1.0 / op.diag).astype(f32) if preconditioner == "jacobi" else np.ones_like(x)
    r = np.empty_like(x)
    q = np.empty_like(x)
    tmp = np.empty_like(x)
    op.matvec(x, q, tmp)
    np.subtract(b, q, out=r)
    b_norm = max(float(np.linalg.norm(b.ravel())), 1e-30)
    z = inv * r
    p = z.copy()
    rz = float(np.dot(r.ravel(), z.ravel()))
    setup = time.perf_counter() - t0
    iterations = 0
    res = float(np.linalg.norm(r.ravel())) / b_norm
    # in-place BLAS updates on flat views: one pass each instead of numpy's two
    xf, rf, pf, qf, zf = (v.ravel() for v in (x, r, p, q, z))
    while iterations < maxiter and res > rtol:
        op.matvec(p, q, tmp)
        alpha = rz / float(np.dot(pf, qf))
        _axpy(alpha, pf, xf)  # x += alpha p
        _axpy(-alpha, qf, rf)  # r -= alpha q
        iterations += 1
        res = float(np.sqrt(np.dot(rf, rf))) / b_norm
        np.multiply(inv, r, out=z)
        rz_new = float(np.dot(rf, zf))
        scaled = sscal(rz_new / rz, pf)  # p = z + beta p
        if scaled is not pf:
            pf[...] = scaled
        _axpy(1.0, zf, pf)
        rz = rz_new
    # the recurrence residual drifts in float32: report the true one
    op.matvec(x, q, tmp)
    res = float(np.linalg.norm((b - q).ravel())) / b_norm
    return x, SolveInfo(
        f"{preconditioner} (matrix-free)", iterations, time.perf_counter() - t0, setup, res
    )
