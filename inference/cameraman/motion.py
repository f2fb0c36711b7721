"""Camera rotation between two video frames, from the frames themselves.

The object at the nadir moves with the camera; the background turns with it. To re-use a
fill from an earlier frame, the rotation ``M`` taking directions of the current frame to the
same scene points in the earlier frame (``d_earlier ≈ M d_current``) is needed.

It is found from image evidence: ORB corners on a reduced copy of each equirect frame
(outside the camera-fixed occluder and the polar caps, where the projection is stretched
without bound), matched by their binary descriptors, turned into unit vectors, and a rotation
fitted to them robustly — RANSAC over three-point Kabsch fits, then a least-squares fit to the
inliers. A pure rotation moves every scene point the same way on the sphere whatever its
distance, so the fit needs no depth; a translating camera leaves near points (the ground)
off the fit, and the caller's consistency check then refuses to re-use the fill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

#: frames are reduced to at most this width for the corners (enough for a fraction of a
#: degree, and bounded time at 8K)
FEATURE_WIDTH = 1024
MAX_CORNERS = 600
#: corners within this many degrees of a pole are skipped (the projection is stretched there)
POLAR_DEG = 12.0
MIN_INLIERS = 12


@dataclass(frozen=True)
class Features:
    """Corners of one frame: unit directions (n, 3) and ORB descriptors (n, 32)."""

    directions: NDArray[np.float64]
    descriptors: NDArray[np.uint8] | None

    def __len__(self) -> int:
        return 0 if self.descriptors is None else len(self.descriptors)


@dataclass(frozen=True)
class RotationFit:
    matrix: NDArray[np.float64]  # d_reference ≈ matrix @ d_current
    inliers: int
    matches: int
    residual_deg: float  # RMS angle of the inliers after the fit


def _pixel_directions(xy: NDArray, width: int, height: int) -> NDArray[np.float64]:
    lon = np.radians((xy[:, 0] + 0.5) / width * 360.0 - 180.0)
    lat = np.radians(90.0 - (xy[:, 1] + 0.5) / height * 180.0)
    return np.stack(
        [np.cos(lat) * np.sin(lon), np.sin(lat), np.cos(lat) * np.cos(lon)], axis=1
    ).astype(np.float64)


def frame_features(rgb: NDArray, exclude: NDArray | None = None) -> Features:
    """ORB corners of an equirect RGB frame, none in ``exclude`` (bool (H, W)) or near a pole."""
    h, w = rgb.shape[:2]
    fw = min(w, FEATURE_WIDTH)
    fw -= fw % 2
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY)
    if fw != w:
        grey = cv2.resize(grey, (fw, fw // 2), interpolation=cv2.INTER_AREA)
    fh = fw // 2
    allowed = np.zeros((fh, fw), np.uint8)
    polar = int(math.ceil(POLAR_DEG / 180.0 * fh))
    allowed[polar : fh - polar] = 255
    if exclude is not None and exclude.any():
        small = cv2.resize(exclude.astype(np.uint8), (fw, fh), interpolation=cv2.INTER_AREA)
        # a margin of one ORB patch radius: no corner's descriptor reads the occluder
        small = cv2.dilate(small, np.ones((33, 33), np.uint8))
        allowed[small > 0] = 0
    orb = cv2.ORB_create(nfeatures=MAX_CORNERS, fastThreshold=10)
    keypoints, descriptors = orb.detectAndCompute(grey, allowed)
    if descriptors is None or not keypoints:
        return Features(np.zeros((0, 3)), None)
    xy = np.array([k.pt for k in keypoints], np.float64)
    return Features(_pixel_directions(xy, fw, fh), descriptors)


def kabsch(a: NDArray, b: NDArray) -> NDArray[np.float64]:
    """The rotation ``M`` minimising Σ‖a_i − M b_i‖² (rows are vectors; stacks allowed:
    (..., n, 3) → (..., 3, 3))."""
    hmat = np.swapaxes(b, -1, -2) @ a
    u, _, vt = np.linalg.svd(hmat)
    v = np.swapaxes(vt, -1, -2)
    ut = np.swapaxes(u, -1, -2)
    d = np.sign(np.linalg.det(v @ ut))
    d = np.where(d == 0, 1.0, d)
    fix = np.zeros(hmat.shape)
    fix[..., 0, 0] = 1.0
    fix[..., 1, 1] = 1.0
    fix[..., 2, 2] = d
    return v @ fix @ ut


def estimate_rotation(
    reference: Features,
    current: Features,
    threshold_deg: float | None = None,
    iterations: int = 200,
    seed: int = 0,
) -> RotationFit | None:
    """The rotation taking ``current`` directions to ``reference`` ones, or None when the
    frames do not share enough corners to say."""
    if len(reference) < MIN_INLIERS or len(current) < MIN_INLIERS:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
    matches = matcher.match(current.descriptors, reference.descriptors)
    if len(matches) < MIN_INLIERS:
        return None
    cur = current.directions[[m.queryIdx for m in matches]]
    ref = reference.directions[[m.trainIdx for m in matches]]
    if threshold_deg is None:  # two corner pixels of the reduced frame
        threshold_deg = 2.0 * 360.0 / FEATURE_WIDTH
    cos_t = math.cos(math.radians(threshold_deg))
    rng = np.random.default_rng(seed)  # fixed: the same frames give the same rotation
    n = len(matches)
    picks = rng.integers(0, n, (iterations, 3))
    picks = picks[(picks[:, 0] != picks[:, 1]) & (picks[:, 1] != picks[:, 2])
                  & (picks[:, 0] != picks[:, 2])]  # fmt: skip
    hypotheses = kabsch(ref[picks], cur[picks])  # (k, 3, 3)
    # ref_n · (M_k cur_n) for every n, k at once: one product over the 9 entries of M
    pairs = (ref[:, :, None] * cur[:, None, :]).reshape(n, 9)
    agree = pairs @ hypotheses.reshape(-1, 9).T >= cos_t  # (n, k)
    best = int(np.argmax(agree.sum(axis=0)))
    inliers = agree[:, best]
    for _ in range(3):  # least squares on the inliers, then re-select
        if inliers.sum() < MIN_INLIERS:
            return None
        matrix = kabsch(ref[inliers], cur[inliers])
        inliers = (cur @ matrix.T * ref).sum(axis=1) >= cos_t
    if inliers.sum() < MIN_INLIERS:
        return None
    cosines = np.clip((cur[inliers] @ matrix.T * ref[inliers]).sum(axis=1), -1.0, 1.0)
    residual = float(np.degrees(np.sqrt(np.mean(np.arccos(cosines) ** 2))))
    return RotationFit(matrix, int(inliers.sum()), n, residual)


def rotation_angle_deg(matrix: NDArray) -> float:
    """The angle of a rotation matrix, degrees."""
    return math.degrees(math.acos(max(-1.0, min(1.0, (float(np.trace(matrix)) - 1.0) / 2.0))))
