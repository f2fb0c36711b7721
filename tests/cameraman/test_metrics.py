"""Fill scores against the true pixels: PSNR, SSIM, seam and texture."""

from __future__ import annotations

import numpy as np

from inference.cameraman.mask import cap_mask
from inference.cameraman.metrics import fill_scores

W, H = 512, 256


def _ground(seed: int = 0) -> np.ndarray:
    """Grainy ground: even grey with noise, as busy inside a nadir cap as outside."""
    rng = np.random.default_rng(seed)
    grain = rng.normal(0, 20, (H, W, 1)).astype(np.float32)
    return np.clip(np.broadcast_to(120 + grain, (H, W, 3)), 0, 255).astype(np.uint8)


def test_the_truth_scores_perfectly():
    truth = _ground()
    mask = cap_mask(W, H, 25.0)
    scores = fill_scores(truth, truth.copy(), mask)
    assert scores["psnr"] > 100
    assert np.isclose(scores["ssim"], 1.0)
    assert np.isclose(scores["seam"], 1.0)
    assert np.isclose(scores["texture"], 1.0)


def test_texture_tells_a_flat_fill_from_a_textured_one_that_psnr_prefers_the_flat():
    """A flat fill (the mean) beats a fill with the right grain in the wrong places on PSNR;
    the texture score says which one looks like the ground."""
    truth = _ground(0)
    mask = cap_mask(W, H, 25.0)
    flat = truth.copy()
    flat[mask] = truth[mask].mean(axis=0).astype(np.uint8)
    grainy = truth.copy()
    grainy[mask] = _ground(1)[mask]  # the same kind of ground, other grain
    flat_scores = fill_scores(truth, flat, mask)
    grainy_scores = fill_scores(truth, grainy, mask)
    assert flat_scores["psnr"] > grainy_scores["psnr"]
    assert flat_scores["texture"] < 0.2
    assert 0.9 < grainy_scores["texture"] < 1.1
