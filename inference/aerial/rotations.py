"""Rotations on SO(3): robust fits between direction sets, quaternions and smoothing.

Conventions: a rotation ``Q`` "maps directions of frame a to frame b" when the same distant
point seen at unit vector ``d`` in a is seen at ``Q @ d`` in b.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "kabsch",
    "ransac_rotation",
    "angle_deg",
    "to_quaternion",
    "from_quaternion",
    "smooth_rotations",
    "rotation_between",
    "refine_with_translation",
]


def kabsch(a: NDArray, b: NDArray, weights: NDArray | None = None) -> NDArray[np.float64]:
    """The rotation Q minimising sum w |Q a_i - b_i|^2 (Wahba's problem, SVD solution)."""
    w = np.ones(len(a)) if weights is None else np.asarray(weights, dtype=np.float64)
    h = (b * w[:, None]).T @ a
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    return u @ np.diag([1.0, 1.0, d]) @ vt


def angle_deg(q: NDArray) -> float:
    """Geodesic angle of a rotation matrix, degrees."""
    c = (np.trace(q) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def ransac_rotation(
    a: NDArray,
    b: NDArray,
    threshold_deg: float = 0.5,
    iterations: int = 300,
    seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Robust Q with Q a_i ≈ b_i: RANSAC on 2-point samples, then reweighted refinement.

    Points that move with the camera's translation (near ones) disagree with the consensus
    rotation of the distant scene; RANSAC rejects them and the Cauchy-weighted refinement
    down-weights the rest of the parallax, so the fit follows the far field.
    """
    n = len(a)
    if n < 3:
        raise ValueError("need at least 3 matched directions")
    rng = np.random.default_rng(seed)
    cos_t = np.cos(np.radians(threshold_deg))
    best_q, best_count = np.eye(3), -1
    needed, done = iterations, 0
    while done < needed:
        done += 1
        i, j = rng.choice(n, 2, replace=False)
        if abs(float(a[i] @ a[j])) > 0.9995:  # nearly parallel samples fix no rotation
            continue
        q = kabsch(a[[i, j]], b[[i, j]])
        count = int(np.count_nonzero(np.einsum("ij,ij->i", a @ q.T, b) > cos_t))
        if count > best_count:
            best_q, best_count = q, count
            # adaptive stop: enough samples for a 99.9 % chance of one all-inlier pair
            share = max(count / n, 1e-3)
            needed = min(iterations, int(np.ceil(np.log(1e-3) / np.log(1 - share**2 + 1e-12))))
    q = best_q
    inliers = np.einsum("ij,ij->i", a @ q.T, b) > cos_t
    scale = np.radians(threshold_deg) / 2
    for _ in range(5):
        err = np.arccos(np.clip(np.einsum("ij,ij->i", a @ q.T, b), -1, 1))
        inliers = err < np.radians(threshold_deg)
        if inliers.sum() < 3:
            break
        w = 1.0 / (1.0 + (err[inliers] / scale) ** 2)
        q = kabsch(a[inliers], b[inliers], w)
    return q, inliers


def refine_with_translation(
    a: NDArray, b: NDArray, q: NDArray, iterations: int = 10, scale_deg: float = 0.1
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Refine Q jointly with the camera's direction of travel t (epipolar geometry on the
    sphere), so near points whose parallax lies along their epipolar circles no longer bias
    the rotation. Minimises robustly sum (t · (Q a_i × b_i))^2 / |b_i × t|^2, alternating
    t (the least eigenvector) and a linearised Gauss-Newton step for Q. With no translation
    every residual is noise and Q is what the rotation-only fit gave.
    """
    t = np.array([0.0, 0.0, 1.0])
    scale = np.radians(scale_deg)
    for _ in range(iterations):
        qa = a @ q.T
        n = np.cross(qa, b)
        t = np.linalg.eigh(n.T @ n)[1][:, 0]
        bt = np.cross(b, t)
        norm = np.linalg.norm(bt, axis=1) + 1e-9
        residual = np.einsum("ij,ij->i", qa, bt) / norm  # ~ angular distance to the circle
        w = 1.0 / (1.0 + (residual / scale) ** 2)
        jac = np.cross(a, bt @ q) / norm[:, None]
        sw = np.sqrt(w)
        omega, *_ = np.linalg.lstsq(jac * sw[:, None], -residual * sw, rcond=None)
        q = q @ cv2.Rodrigues(omega.reshape(3, 1))[0]
        if np.linalg.norm(omega) < 1e-9:
            break
    return q, t


def rotation_between(u: NDArray, v: NDArray) -> NDArray[np.float64]:
    """The smallest rotation taking unit vector u to unit vector v."""
    u = u / np.linalg.norm(u)
    v = v / np.linalg.norm(v)
    axis = np.cross(u, v)
    s, c = np.linalg.norm(axis), float(u @ v)
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        perp = np.cross(u, [1.0, 0.0, 0.0] if abs(u[0]) < 0.9 else [0.0, 1.0, 0.0])
        perp /= np.linalg.norm(perp)
        return 2 * np.outer(perp, perp) - np.eye(3)
    k = axis / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * (kx @ kx)


def to_quaternion(q: NDArray) -> NDArray[np.float64]:
    """Unit quaternion (w, x, y, z) of a rotation matrix (Shepperd's stable branch choice)."""
    m = np.asarray(q, dtype=np.float64)
    t = np.trace(m)
    if t > 0:
        s = np.sqrt(t + 1.0) * 2
        out = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k]) * 2
        out = [0.0, 0.0, 0.0, 0.0]
        out[0] = (m[k, j] - m[j, k]) / s
        out[1 + i] = 0.25 * s
        out[1 + j] = (m[j, i] + m[i, j]) / s
        out[1 + k] = (m[k, i] + m[i, k]) / s
    quat = np.array(out)
    return quat / np.linalg.norm(quat)


def from_quaternion(quat: NDArray) -> NDArray[np.float64]:
    w, x, y, z = np.asarray(quat, dtype=np.float64) / np.linalg.norm(quat)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def smooth_rotations(rotations: list[NDArray], sigma_frames: float) -> list[NDArray[np.float64]]:
    """Gaussian smoothing of a rotation path on SO(3).

    Each output is the Gaussian-weighted Karcher mean of its neighbours, computed in the tangent
    space at the frame itself (log maps of R_i^T R_j, averaged, mapped back), iterated twice. That
    stays exact for fast turns where averaging quaternions or matrices would shrink the path.
    """
    mats = [np.asarray(r, dtype=np.float64) for r in rotations]
    if sigma_frames <= 0 or len(mats) < 2:
        return mats
    n = len(mats)
    radius = int(np.ceil(3 * sigma_frames))
    out = []
    for i in range(n):
        lo, hi = max(0, i - radius), min(n, i + radius + 1)
        w = np.exp(-0.5 * ((np.arange(lo, hi) - i) / sigma_frames) ** 2)
        w /= w.sum()
        mean = mats[i]
        for _ in range(2):
            tangent = sum(
                wk * cv2.Rodrigues(mean.T @ mats[j])[0].ravel()
                for wk, j in zip(w, range(lo, hi), strict=True)
            )
            mean = mean @ cv2.Rodrigues(np.asarray(tangent, dtype=np.float64))[0]
        out.append(mean)
    return out
