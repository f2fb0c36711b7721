"""The structure-guided smooth fill: edges crossing a hole carry on; no structure, no change."""

from __future__ import annotations

import cv2
import numba
import numpy as np
import pytest

from inference.cameraman.harmonic import harmonic_fill
from inference.cameraman.structure import colour_classes, diffusion_weights, structure_fill


def stripes(angle_deg: float, size: int = 160, period: float = 14.0) -> np.ndarray:
    """Soft oblique stripes (rails seen from above), float32 (size, size, 3)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    a = np.radians(angle_deg)
    phase = (x * np.cos(a) + y * np.sin(a)) * 2 * np.pi / period
    grey = 120 + 80 * np.sin(phase)
    return np.repeat(grey[..., None], 3, axis=2).astype(np.float32)


@pytest.mark.parametrize("angle", [90.0, 60.0, 125.0])
def test_stripes_carry_on_across_a_thin_hole(angle):
    image = stripes(angle)
    hole = np.zeros(image.shape[:2], bool)
    hole[20:140, 74:86] = True  # a leg 12 px wide, crossed by the stripes
    broken = image.copy()
    broken[hole] = 0
    guided = structure_fill(broken, hole, 3.0)
    smooth = harmonic_fill(broken, hole)
    err_guided = np.abs(guided - image)[hole].mean()
    err_smooth = np.abs(smooth - image)[hole].mean()
    assert err_guided < 0.5 * err_smooth, (err_guided, err_smooth)
    assert np.array_equal(guided[~hole], image[~hole])


def test_without_structure_it_is_the_harmonic_fill():
    y, x = np.mgrid[0:96, 0:128].astype(np.float32)
    image = np.stack([2 * x + y, 150 - x], -1)  # a plane: no edge, one gradient
    hole = np.zeros((96, 128), bool)
    hole[30:70, 40:90] = True
    broken = image.copy()
    broken[hole] = 0
    assert np.abs(structure_fill(broken, hole, 3.0) - image)[hole].max() < 1.0


def test_weights_follow_the_edge():
    weights = diffusion_weights(stripes(0.0), np.zeros((160, 160), bool), 3.0)
    # vertical stripes (the phase runs along x): the vertical pair dominates
    centre = weights[80, 80]
    assert centre[1] > 20 * centre[0]


def test_whole_image_hole_is_refused():
    with pytest.raises(ValueError, match="whole image"):
        structure_fill(np.zeros((8, 8, 1), np.float32), np.ones((8, 8), bool), 2.0)


def test_no_two_pixels_swept_together_are_neighbours():
    # the mean reads all eight neighbours: pixels updated in the same parallel pass must not
    # be among each other's (else the result depends on which thread writes first)
    rng = np.random.default_rng(4)
    hole = rng.random((61, 47)) < 0.7
    classes = colour_classes(hole)
    assert sum(len(ys) for ys, _ in classes) == hole.sum()
    for ys, xs in classes:
        members = np.zeros(hole.shape, np.float32)
        members[ys, xs] = 1
        around = cv2.filter2D(
            members, -1, np.ones((3, 3), np.float32), borderType=cv2.BORDER_CONSTANT
        )
        assert np.all(around[ys, xs] == 1)


def test_the_fill_does_not_depend_on_the_thread_count():
    rng = np.random.default_rng(9)
    image = (stripes(60.0) + rng.normal(0, 20, (160, 160, 1))).astype(np.float32)
    hole = np.zeros((160, 160), bool)
    hole[30:130, 60:95] = True
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        alone = structure_fill(image, hole, 3.0)
    finally:
        numba.set_num_threads(threads)
    for _ in range(3):
        assert np.array_equal(structure_fill(image, hole, 3.0), alone)
