"""The PatchMatch voting kernels — the weighted mean of the covering patches, and the copy of
the best one — the exemplar fill's independence of the thread count, and any hole shape."""

from __future__ import annotations

import cv2
import numba
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.cameraman import patchmatch as pm
from inference.cameraman.inpaint import InpaintOptions, inpaint


def _field(h: int = 12, w: int = 12):
    """An image whose pixel value is its own index, two targets in the middle row."""
    img = np.arange(h * w, dtype=np.float32).reshape(h, w, 1)
    is_target = np.zeros((h, w), bool)
    is_target[6, 5] = is_target[6, 6] = True
    nnf_y = np.zeros((h, w), np.int32)
    nnf_x = np.zeros((h, w), np.int32)
    nnf_y[6, 5], nnf_x[6, 5] = 2, 2  # target (6, 5) copies the patch round (2, 2)
    nnf_y[6, 6], nnf_x[6, 6] = 3, 8  # target (6, 6) copies the patch round (3, 8)
    return img, is_target, nnf_y, nnf_x


def _query(*pixels):
    qy = np.array([p[0] for p in pixels], np.int64)
    qx = np.array([p[1] for p in pixels], np.int64)
    return qy, qx, np.empty((len(pixels), 1), np.float32)


def test_vote_best_copies_the_covering_patch_that_matches_best():
    img, is_target, nnf_y, nnf_x = _field()
    dist = np.zeros(is_target.shape, np.float32)
    dist[6, 5], dist[6, 6] = 5.0, 1.0
    qy, qx, out = _query((6, 6), (6, 4), (0, 0))
    pm.vote_best(img, is_target, nnf_y, nnf_x, dist, qy, qx, 1, out)
    # (6, 6) is covered by both patches: the better (6, 6) says its own centre (3, 8)
    assert out[0, 0] == img[3, 8, 0]
    # (6, 4) is covered only by the patch of (6, 5), one pixel left of its centre (2, 2)
    assert out[1, 0] == img[2, 1, 0]
    assert np.isnan(out[2, 0])  # no target covers it
    dist[6, 5] = 0.5  # now the other patch is better: (6, 6) is its right neighbour
    pm.vote_best(img, is_target, nnf_y, nnf_x, dist, qy, qx, 1, out)
    assert out[0, 0] == img[2, 3, 0]


def test_vote_averages_the_covering_patches_by_weight():
    img, is_target, nnf_y, nnf_x = _field()
    weight = np.zeros(is_target.shape, np.float32)
    weight[6, 5], weight[6, 6] = 1.0, 3.0
    qy, qx, out = _query((6, 6), (0, 0))
    pm.vote(img, is_target, nnf_y, nnf_x, weight, qy, qx, 1, out)
    assert np.isclose(out[0, 0], (1.0 * img[2, 3, 0] + 3.0 * img[3, 8, 0]) / 4.0)
    assert np.isnan(out[1, 0])


def test_the_exemplar_fill_does_not_depend_on_the_thread_count():
    """Copying and averaging votes, searches in runs of rows: the same fill on one thread as
    on all of them, every time."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:160, 0:160].astype(np.float32)
    grey = 100 + 40 * np.sin(x / 6.0) * np.cos(y / 9.0) + rng.normal(0, 10, (160, 160))
    image = np.repeat(grey[:, :, None], 3, axis=2).astype(np.float32)
    hole = (y - 80) ** 2 + (x - 80) ** 2 < 45**2
    for copy in (True, False):
        options = InpaintOptions(method="patch", copy_patches=copy)
        threads = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            alone = inpaint(image, hole, options)
        finally:
            numba.set_num_threads(threads)
        for _ in range(2):
            assert np.array_equal(inpaint(image, hole, options), alone)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shape=st.sampled_from(["blob", "edge", "line", "dots"]),
    method=st.sampled_from(["patch", "blend"]),
    copy=st.booleans(),
)
def test_any_hole_is_filled_with_finite_values_and_nothing_else_changes(seed, shape, method, copy):
    """Blobs, holes touching the image border, one-pixel lines and scattered dots: every hole
    pixel gets a finite value, within reach of the known range, and no other pixel moves."""
    rng = np.random.default_rng(seed)
    h, w = 72, 96
    image = rng.uniform(20, 230, (h, w, 3)).astype(np.float32)
    image = cv2.GaussianBlur(image, (0, 0), 2.0) + rng.normal(0, 8, (h, w, 3)).astype(np.float32)
    y, x = np.mgrid[0:h, 0:w]
    cy, cx, radius = rng.integers(0, h), rng.integers(0, w), rng.integers(3, 25)
    hole = {
        "blob": (y - cy) ** 2 + (x - cx) ** 2 < radius**2,
        "edge": (y - 0) ** 2 + (x - cx) ** 2 < radius**2,
        "line": np.abs(x - cx) < 1,
        "dots": rng.random((h, w)) < 0.05,
    }[shape]
    out = inpaint(image, hole, InpaintOptions(method=method, copy_patches=copy, seed=seed))
    assert np.isfinite(out).all()
    assert np.array_equal(out[~hole], image[~hole])
    spread = float(image.max() - image.min())
    assert out[hole].min() > image.min() - spread and out[hole].max() < image.max() + spread
