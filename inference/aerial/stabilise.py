"""360° stabilisation: camera rotation between frames, smoothing, horizon levelling.

* Features: ORB on the six cube faces with an expanded FOV (rectilinear, so corners look the
  same as in an ordinary photo), keypoints turned into unit vectors on the sphere. Matching is
  global over all faces, so any rotation between frames is found, not only small ones.
* Rotation: RANSAC + weighted Kabsch on the matched directions (:mod:`.rotations`).
* Path: ``A_k`` takes directions of frame k to frame 0 (``A_0 = I``); the output of frame k is
  the input rotated by ``L · S_k^T · A_k`` (``S_k`` the smoothed path, identity when locking
  the orientation; ``L`` the levelling rotation) — one resampling through the geometry core.
* Levelling: vertical scene lines are great circles through the zenith, so their plane
  normals are all perpendicular to "up"; up is the direction most perpendicular to the normals
  of line segments found on horizontal views (RANSAC over pairs, then least squares).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from label360.sphere.projection import equirect_to_view, rotate_equirect
from label360.sphere.views import View, cube_face_views

from .rotations import (
    angle_deg,
    kabsch,
    ransac_rotation,
    refine_with_translation,
    rotation_between,
    smooth_rotations,
)

__all__ = [
    "FrameFeatures",
    "frame_features",
    "relative_rotation",
    "estimate_path",
    "estimate_up",
    "stabilising_rotations",
    "stabilise_frames",
    "StabiliseResult",
]

_POOL = ThreadPoolExecutor(max_workers=max(1, min(6, os.cpu_count() or 1)))
FACE_FOV = 100.0  # expanded cube faces overlap, so features near an edge are seen whole
MIN_MATCHES = 12
MIN_VERTICALS = 15  # consistent vertical segments needed to trust a levelling
MIN_VERTICAL_SHARE = 0.25  # ... and their share of all steep segments (by angular length)


@dataclass(frozen=True)
class FrameFeatures:
    vectors: NDArray[np.float64]  # (n, 3) unit directions in the frame's own coordinates
    descriptors: NDArray[np.uint8]  # (n, 32) ORB descriptors


def _face_size(width: int) -> int:
    # a face of the same angular resolution as the panorama's equator
    return int(np.clip(round(width / 4 * FACE_FOV / 90), 128, 1024))


def _grey(image: NDArray) -> NDArray[np.uint8]:
    if image.dtype != np.uint8:
        raise ValueError("frames must be 8-bit images")
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2GRAY)


def _face_features(grey: NDArray, view: View, n: int) -> tuple[NDArray, NDArray] | None:
    face = equirect_to_view(grey, *_view_args(view))
    keypoints, desc = cv2.ORB_create(nfeatures=n, fastThreshold=10).detectAndCompute(face, None)
    if desc is None or not keypoints:
        return None
    xy = np.array([k.pt for k in keypoints], dtype=np.float64)
    # keypoint coordinates are pixel centres at integer positions, as in View
    return view.pixel_to_vec(xy[:, 0], xy[:, 1]), desc


def frame_features(image: NDArray, n_features: int = 1500) -> FrameFeatures:
    """ORB keypoints of all cube faces of one equirect frame, as directions + descriptors."""
    grey = _grey(image)
    size = _face_size(grey.shape[1])
    views = cube_face_views(size, FACE_FOV)
    # OpenCV releases the GIL: the faces are processed on all cores
    found = list(_POOL.map(lambda v: _face_features(grey, v, n_features // 6 + 1), views))
    found = [f for f in found if f is not None]
    if not found:
        return FrameFeatures(np.zeros((0, 3)), np.zeros((0, 32), np.uint8))
    return FrameFeatures(
        np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])
    )


def relative_rotation(
    a: FrameFeatures, b: FrameFeatures, threshold_deg: float = 0.6
) -> tuple[NDArray[np.float64], int]:
    """Q with Q d_a ≈ d_b for the distant scene, and the number of inlier matches.

    Raises ValueError when the frames share too few features (e.g. a cut in the video).
    """
    if len(a.vectors) < MIN_MATCHES or len(b.vectors) < MIN_MATCHES:
        raise ValueError("too few features in a frame to estimate its rotation")
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(a.descriptors, b.descriptors, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < 0.8 * m[1].distance]
    if len(good) < MIN_MATCHES:
        raise ValueError(f"only {len(good)} feature matches between consecutive frames")
    ia = np.array([m.queryIdx for m in good])
    ib = np.array([m.trainIdx for m in good])
    va, vb = a.vectors[ia], b.vectors[ib]
    q, inliers = ransac_rotation(va, vb, threshold_deg=threshold_deg)
    if inliers.sum() < MIN_MATCHES:
        raise ValueError(f"only {int(inliers.sum())} consistent matches between frames")
    # parallax of near points under the camera's translation, modelled instead of averaged
    q, _ = refine_with_translation(va[inliers], vb[inliers], q)
    return q, int(inliers.sum())


def estimate_path(
    features: Sequence[FrameFeatures],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[NDArray[np.float64]], list[int]]:
    """Absolute orientations ``A_k`` (frame k → frame 0) by chaining relative rotations."""
    path = [np.eye(3)]
    inliers = []
    for k in range(1, len(features)):
        q, count = relative_rotation(features[k - 1], features[k])
        path.append(path[-1] @ q.T)
        inliers.append(count)
        if progress:
            progress(k, len(features) - 1)
    return path, inliers


def _segment_normals(image: NDArray, rotation: NDArray) -> tuple[NDArray, NDArray]:
    """Plane normals (frame coordinates) and angular lengths of near-vertical line segments.

    ``rotation`` is the current estimate that levels the frame: segments are looked for on
    eight horizontal views of the levelled frame, where verticals look vertical.
    """
    grey = _grey(image)
    size = _face_size(grey.shape[1])
    detector = cv2.ximgproc.createFastLineDetector(length_threshold=max(12, size // 25))
    normals, lengths = [], []
    inverse = rotation.T
    for yaw in range(-180, 180, 45):
        view = View(float(yaw), 0.0, 0.0, 70.0, size, size)
        # a view of the levelled panorama = a view whose rotation is pre-multiplied by L^T
        face = _view_of_rotated(grey, view, inverse)
        lines = detector.detect(face)
        if lines is None:
            continue
        seg = lines.reshape(-1, 4).astype(np.float64)
        dx, dy = seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]
        steep = np.abs(dx) < np.abs(dy) * np.tan(np.radians(30))
        seg = seg[steep]
        if not len(seg):
            continue
        p = view.pixel_to_vec(seg[:, 0], seg[:, 1]) @ inverse.T
        q = view.pixel_to_vec(seg[:, 2], seg[:, 3]) @ inverse.T
        n = np.cross(p, q)
        norm = np.linalg.norm(n, axis=1)
        keep = norm > 1e-9
        normals.append(n[keep] / norm[keep, None])
        lengths.append(np.arcsin(np.clip(norm[keep], 0, 1)))
    if not normals:
        return np.zeros((0, 3)), np.zeros(0)
    return np.concatenate(normals), np.concatenate(lengths)


def _view_of_rotated(grey: NDArray, view: View, rotation: NDArray) -> NDArray:
    """The rectilinear view of the panorama rotated by ``rotation^T`` (no full resample)."""
    return equirect_to_view(grey, *_view_args(_rotated_view_angles(view, rotation)))


def _view_args(view: View) -> tuple:
    return view.yaw, view.pitch, view.roll, view.hfov, view.width, view.height


def _rotated_view_angles(view: View, rotation: NDArray) -> View:
    r = rotation @ view.rotation()
    # decompose R = Ry(yaw) Rx(-pitch) Rz(-roll) (the View convention)
    pitch = np.degrees(np.arcsin(np.clip(r[1, 2], -1, 1)))
    yaw = np.degrees(np.arctan2(r[0, 2], r[2, 2]))
    roll = np.degrees(np.arctan2(r[1, 0], r[1, 1]))  # rot_z is clockwise (see vectors.py)
    return View(float(yaw), float(pitch), float(roll), view.hfov, view.width, view.height)


def estimate_up(
    frames: Sequence[NDArray],
    path: Sequence[NDArray] | None = None,
    threshold_deg: float = 1.0,
    seed: int = 0,
) -> NDArray[np.float64]:
    """The scene's up direction in frame-0 coordinates, from vertical lines of the frames.

    Two passes: the second looks for segments on views levelled by the first estimate, so a
    strongly tilted camera still finds its verticals.
    """
    path = list(path) if path is not None else [np.eye(3)] * len(frames)
    up = np.array([0.0, 1.0, 0.0])
    rng = np.random.default_rng(seed)
    for _ in range(2):
        level = rotation_between(up, np.array([0.0, 1.0, 0.0]))
        all_n, all_w = [], []
        for frame, a_k in zip(frames, path, strict=True):
            # frame k's coordinates -> frame 0's are A_k; the levelling applies after that
            n, w = _segment_normals(frame, level @ a_k)
            all_n.append(n @ a_k.T)
            all_w.append(w)
        normals, weights = np.concatenate(all_n), np.concatenate(all_w)
        if len(normals) < 8:
            raise ValueError("too few vertical lines to level the horizon")
        sin_t = np.sin(np.radians(threshold_deg))
        best, best_score = up, -1.0
        for _ in range(400):
            i, j = rng.choice(len(normals), 2, replace=False)
            cand = np.cross(normals[i], normals[j])
            norm = np.linalg.norm(cand)
            if norm < 1e-6:
                continue
            cand /= norm
            if cand @ up < 0:
                cand = -cand
            if cand @ up < np.cos(np.radians(35)):
                continue
            score = float(weights[np.abs(normals @ cand) < sin_t].sum())
            if score > best_score:
                best, best_score = cand, score
        inl = np.abs(normals @ best) < sin_t
        if inl.sum() < MIN_VERTICALS or weights[inl].sum() < MIN_VERTICAL_SHARE * weights.sum():
            raise ValueError(
                f"no reliable vertical lines to level the horizon ({int(inl.sum())} consistent "
                f"of {len(normals)} steep segments)"
            )
        m = (normals[inl] * weights[inl, None]).T @ normals[inl]
        vals, vecs = np.linalg.eigh(m)
        up = vecs[:, 0] if vecs[:, 0] @ best > 0 else -vecs[:, 0]
    return up


@dataclass
class StabiliseResult:
    rotations: list[NDArray[np.float64]]  # applied to each frame (rotate_equirect)
    path: list[NDArray[np.float64]]  # estimated A_k
    up: NDArray[np.float64] | None
    inliers: list[int]
    level_note: str = ""


def stabilising_rotations(
    path: Sequence[NDArray],
    mode: str = "smooth",
    sigma_frames: float = 5.0,
    up: NDArray | None = None,
) -> list[NDArray[np.float64]]:
    """Rotation to apply to each frame: lock (remove all rotation) or smooth, then level."""
    if mode == "lock":
        smooth = [np.eye(3)] * len(path)
    elif mode == "smooth":
        smooth = smooth_rotations(list(path), sigma_frames)
    else:
        raise ValueError("mode must be 'lock' or 'smooth'")
    level = np.eye(3) if up is None else rotation_between(up, np.array([0.0, 1.0, 0.0]))
    return [level @ s.T @ a for s, a in zip(smooth, path, strict=True)]


def stabilise_frames(
    frames: Sequence[NDArray],
    mode: str = "smooth",
    sigma_frames: float = 5.0,
    level: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[list[NDArray], StabiliseResult]:
    """Estimate, smooth and level the camera path; return the derotated frames."""
    if len(frames) < 1:
        raise ValueError("no frames")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise ValueError("all frames must have the same size")
    features = []
    for k, frame in enumerate(frames):
        features.append(frame_features(frame))
        if progress:
            progress("features", k + 1, len(frames))
    path, inliers = estimate_path(features)
    up, level_note = None, ""
    if level:
        step = max(1, len(frames) // 8)  # verticals from up to 8 frames are plenty
        picked = list(range(0, len(frames), step))
        try:
            up = estimate_up([frames[i] for i in picked], [path[i] for i in picked])
        except ValueError as exc:  # a scene without verticals is stabilised, not levelled
            level_note = f"horizon not levelled: {exc}"
    rotations = stabilising_rotations(path, mode, sigma_frames, up)
    out = []
    for k, (frame, r) in enumerate(zip(frames, rotations, strict=True)):
        out.append(frame if angle_deg(r) < 1e-9 else rotate_equirect(frame, r))
        if progress:
            progress("derotate", k + 1, len(frames))
    return out, StabiliseResult(rotations, path, up, inliers, level_note)


# re-exported for the benchmark and tests
__all__ += ["kabsch", "angle_deg"]
