"""Ground-truth comparisons for tests and benchmarks (depth known up to one global scale)."""

from __future__ import annotations

import cv2
import numpy as np


def smooth_mask(
    true_distance: np.ndarray, max_log_jump: float = 0.1, margin: int = 2
) -> np.ndarray:
    """Finite pixels at least ``margin`` px from any occlusion edge of the true depth.

    Pixel-exact depth at an occlusion boundary is ambiguous after resampling (a one-pixel
    shift of the boundary turns 2 m into 200 m), so error metrics leave a thin band out.
    """
    finite = np.isfinite(true_distance)
    logd = np.log(np.where(finite, true_distance, 1e6))
    edge = np.zeros_like(finite)
    jx = np.abs(np.roll(logd, -1, axis=1) - logd) > max_log_jump
    edge |= jx | np.roll(jx, 1, axis=1)
    jy = np.abs(logd[1:] - logd[:-1]) > max_log_jump
    edge[1:] |= jy
    edge[:-1] |= jy
    kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    near_edge = cv2.dilate(edge.astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE) > 0
    return finite & ~near_edge


def global_scale(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """The one scale that best maps pred to truth (median ratio)."""
    return float(np.median(truth[mask] / pred[mask]))


def abs_rel(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Mean |s·pred − truth| / truth over mask, with the best global scale s."""
    s = global_scale(pred, truth, mask)
    return float(np.mean(np.abs(s * pred[mask] - truth[mask]) / truth[mask]))


def seam_ratio(
    pred: np.ndarray, truth: np.ndarray, border: np.ndarray, mask: np.ndarray
) -> tuple[float, float]:
    """Mean |east/south difference of the log error| on view-border edges and elsewhere.

    ``border`` marks pixels whose east or south neighbour belongs to another view (by the
    hard "nearest view" assignment). A seam shows up as a step in the error field
    ``log pred − log truth`` across those edges.
    """
    err = np.log(np.maximum(pred, 1e-12)) - np.log(np.where(mask, truth, 1.0))
    ex = np.abs(np.roll(err, -1, axis=1) - err)
    okx = mask & np.roll(mask, -1, axis=1)
    ey = np.zeros_like(ex)
    ey[:-1] = np.abs(err[1:] - err[:-1])
    oky = np.zeros_like(mask)
    oky[:-1] = mask[:-1] & mask[1:]
    on = np.concatenate([ex[okx & border], ey[oky & border]])
    off = np.concatenate([ex[okx & ~border], ey[oky & ~border]])
    return float(on.mean()), float(off.mean())
