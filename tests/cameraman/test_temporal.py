"""Video frames through time, without the job: the camera's rotation measured from the frames,
the reference fill re-used under it (less flicker than inpainting every frame), refusal when
the background changed, and class masks refined from the frame's pixels between keyframes."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference.cameraman.mask import grow, polygon_mask
from inference.cameraman.motion import estimate_rotation, frame_features, rotation_angle_deg
from inference.cameraman.refine import refine_in_crop
from inference.cameraman.temporal import Keyframes
from inference.cameraman.video_clean import VideoCleaner, remap_points
from inference.cameraman.video_job import validate_video_params
from inference.registry import ParamsError
from label360.sphere.projection import equirect_directions, sample_equirect
from label360.sphere.vectors import rot_x, rot_y, rot_z

W, H = 512, 256


def textured(width: int = 2048, seed: int = 0) -> np.ndarray:
    """A scene with texture at every scale (blobs of many sizes): corners everywhere."""
    rng = np.random.default_rng(seed)
    h = width // 2
    out = np.zeros((h, width, 3), np.float32)
    for cells in (8, 24, 64, 160):
        small = rng.random((max(2, cells // 2), cells, 3)).astype(np.float32)
        out += cv2.resize(small, (width, h), interpolation=cv2.INTER_CUBIC) * (64 / cells) ** 0.3
    out -= out.min()
    return (out / out.max() * 230 + 10).astype(np.uint8)


def camera(k: int, yaw: float) -> np.ndarray:
    return rot_y(yaw * k) @ rot_x(0.5 * math.sin(k)) @ rot_z(0.4 * math.cos(k))


def turned(base: np.ndarray, matrix: np.ndarray, width: int = W) -> np.ndarray:
    """The frame of a camera with orientation ``matrix`` (world w seen at matrix @ w)."""
    d = equirect_directions(width, width // 2).reshape(width // 2, width, 3)
    return sample_equirect(base, d @ matrix.astype(np.float32))


def params(**extra) -> dict:
    return validate_video_params({"sequence": 1, "cap_deg": 30, **extra})


@pytest.fixture(scope="module")
def base():
    return textured()


def test_camera_rotation_is_measured_from_the_frames(base):
    a, b = np.eye(3), rot_y(9.0) @ rot_x(2.0) @ rot_z(-1.5)
    fa, fb = turned(base, a, 1024), turned(base, b, 1024)
    cap = np.zeros((512, 1024), bool)
    cap[400:] = True  # an occluder fixed in the camera: no corners there
    fit = estimate_rotation(frame_features(fa, cap), frame_features(fb, cap))
    assert fit is not None and fit.inliers >= 50
    truth = a @ b.T  # d_a = truth @ d_b
    assert rotation_angle_deg(fit.matrix @ truth.T) < 0.15  # under half a pixel (0.35°)
    flat = np.full((512, 1024, 3), 90, np.uint8)
    assert estimate_rotation(frame_features(flat), frame_features(flat)) is None


def flicker(frames, mask, yaw):
    """Mean change inside the mask from frame to frame once the previous one is turned by
    the true camera rotation."""
    d = equirect_directions(W, H).reshape(H, W, 3)
    values = []
    for k in range(1, len(frames)):
        turn = (camera(k - 1, yaw) @ camera(k, yaw).T).T.astype(np.float32)
        before = sample_equirect(frames[k - 1], d @ turn).astype(float)
        seen = sample_equirect(mask.astype(np.float32), d @ turn) > 0.999
        region = cv2.erode((mask & seen).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        values.append(np.abs(frames[k].astype(float) - before)[region].mean())
    return float(np.mean(values))


def test_fill_is_reused_under_the_camera_rotation_without_flicker(base):
    yaw, n = 2.0, 6
    truth = [turned(base, camera(k, yaw)) for k in range(n)]
    results = {}
    for reuse in (False, True):
        cleaner = VideoCleaner(params(reuse=reuse), W, H, None)
        mask = cleaner.fixed_mask
        clip = []
        for frame in truth:
            frame = frame.copy()
            frame[mask] = (30, 30, 30)  # the tripod turns with the camera
            clip.append(frame)
        out = [cleaner.clean(frame, k / 25) for k, frame in enumerate(clip)]
        for o, c in zip(out, clip, strict=True):
            assert np.array_equal(o[~mask], c[~mask])  # only the mask changes
        results[reuse] = (flicker(out, mask, yaw), cleaner.stats)
    still, moving = results[False], results[True]
    assert moving[1].reused == n - 1 and moving[1].fresh == 1
    assert moving[1].max_rotation_deg > 0.8 * yaw * (n - 1)
    assert still[1].reused == 0
    # re-used fills flicker no more than the true scene does under resampling (the floor);
    # fresh fills, smooth in their structure, about twice as much
    assert moving[0] < still[0] / 2, (moving[0], still[0])
    assert moving[0] < 1.5 * flicker(truth, mask, yaw) + 1.0


def test_a_changed_background_is_inpainted_afresh(base):
    other = textured(seed=5)
    cleaner = VideoCleaner(params(), W, H, None)
    cleaner.clean(turned(base, np.eye(3)), 0.0)
    cleaner.clean(turned(other, np.eye(3)), 0.04)  # a cut: the ring no longer matches
    assert cleaner.stats.fresh == 2 and cleaner.stats.reused == 0
    assert cleaner.stats.disagreed == 1


def test_class_mask_is_refined_between_keyframes_only(base):
    """A dark blob drawn at the same place on two keyframes has moved in between: the
    interpolated polygon misses part of it, the refined mask covers it; on keyframes the
    drawn polygon is used as it is."""
    frame = turned(base, np.eye(3)).copy()
    drawn = [[[[-20.0, -55.0], [20.0, -55.0], [20.0, -35.0], [-20.0, -35.0]]]]
    moved = [[[[-14.0, -59.0], [26.0, -59.0], [26.0, -39.0], [-14.0, -39.0]]]]
    truth = polygon_mask([moved], W, H)
    frame[truth] = (25, 22, 20)
    keys = Keyframes([0.0, 1.0], [[drawn], [drawn]])
    off = VideoCleaner(params(mask="class", label_class=1, refine_px=0, grow_px=1), W, H, keys)
    on = VideoCleaner(params(mask="class", label_class=1, refine_px=10, grow_px=1), W, H, keys)
    missed_off = (truth & ~off.mask_at(0.5, frame)).sum()
    refined = on.mask_at(0.5, frame)
    missed_on = (truth & ~refined).sum()
    assert missed_off > 100 and missed_on < missed_off / 5, (missed_off, missed_on)
    assert on.stats.refined == 1
    # the outline moved by at most refine_px (+ growth and the footprint)
    limit = grow(polygon_mask([drawn], W, H), on.frame, 10 + 1 + 2)
    assert not (refined & ~limit).any()
    # a keyframe keeps the drawn polygons
    assert np.array_equal(on.mask_at(1.0, frame), off.mask_at(1.0, frame))


def test_refinement_without_contrast_keeps_the_drawn_mask():
    flat = np.full((64, 64, 3), 120, np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[20:40, 20:40] = True
    out = refine_in_crop(flat, mask, 6)
    inner = cv2.erode(mask.astype(np.uint8), np.ones((13, 13), np.uint8)) > 0
    outer = cv2.dilate(mask.astype(np.uint8), np.ones((13, 13), np.uint8)) > 0
    assert out[inner].all() and not out[~outer].any()


def test_remap_points_matches_a_full_remap():
    rng = np.random.default_rng(1)
    image = rng.random((40, 50, 3)).astype(np.float32)
    x = rng.uniform(0, 49, 70000).astype(np.float32)  # more than OpenCV's 32767 per side
    y = rng.uniform(0, 39, 70000).astype(np.float32)
    got = remap_points(image, x, y)
    full = cv2.remap(image, x.reshape(100, 700), y.reshape(100, 700), cv2.INTER_LINEAR)
    assert np.allclose(got, full.reshape(-1, 3))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "sequence",
                "static_threshold",
                "segment_frames",
                "refine_px",
                "reuse",
                "cap_deg",
                "other",
            ]
        ),  # fmt: skip
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(2**40), 2**40),
            st.floats(allow_nan=True),
            st.text(max_size=6),
        ),
        max_size=6,
    )
)
def test_video_params_fuzz_only_clean_or_params_error(raw):
    try:
        p = validate_video_params(raw)
    except ParamsError as exc:
        assert str(exc)
        return
    assert isinstance(p["sequence"], int) and isinstance(p["reuse"], bool)
    assert 0 <= p["refine_px"] <= 64 and 1 <= p["segment_frames"] <= 10_000
    assert 0 <= p["static_threshold"] <= 255
