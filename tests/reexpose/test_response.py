"""The single-image response estimate: recovered where the edge cue exists, a stated fallback
where it does not (featureless skies, flat images, mixes that are not linear in radiance)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.reexpose.pipeline import RecoverOptions, recover_hdr
from inference.reexpose.response import Response, collinearity_cost, edge_samples, estimate_response

from .helpers import to_ldr


def sky_and_patches(width: int = 512, seed: int = 0) -> np.ndarray:
    """Linear radiance: a smooth sky gradient above, random colour rectangles below.

    Rendered 4× larger and area-averaged, so every pixel on a patch border is a true linear
    mix of the two sides' radiances (what a lens and a sensor's pixel area do).
    """
    rng = np.random.default_rng(seed)
    big_w, big_h = 4 * width, 2 * width
    rows = np.linspace(0.0, 1.0, big_h // 2, dtype=np.float32)[:, None, None]
    zenith, horizon = np.array([0.10, 0.22, 0.55]), np.array([0.45, 0.50, 0.55])
    sky = np.broadcast_to(zenith + (horizon - zenith) * rows, (big_h // 2, big_w, 3))
    ground = np.zeros((big_h - big_h // 2, big_w, 3), np.float32) + np.float32(0.15)
    for _ in range(150):
        colour = rng.uniform(0.03, 0.9, 3).tolist()
        x0, y0 = int(rng.integers(0, big_w)), int(rng.integers(0, ground.shape[0]))
        size = rng.integers(24, 200, 2)
        cv2.rectangle(ground, (x0, y0), (x0 + int(size[0]), y0 + int(size[1])), colour, -1)
    big = np.concatenate([sky, ground]).astype(np.float32)
    return cv2.resize(big, (width, width // 2), interpolation=cv2.INTER_AREA)


def log_curve_error(est: Response, truth: Response) -> float:
    v = np.linspace(0.05, 0.95, 50)
    return float(np.sqrt(np.mean(np.log(est.inverse(v) / truth.inverse(v)) ** 2)))


@pytest.mark.parametrize(
    "truth",
    [Response("gamma", 1.8), Response("gamma", 2.4), Response("shoulder", 2.0, 0.75)],
    ids=lambda r: r.describe(),
)
@pytest.mark.parametrize("seed", [1, 2])
def test_curve_recovered_from_an_eight_bit_scene_with_colour_edges(truth, seed):
    ldr = to_ldr(sky_and_patches(512, seed), 1.0, truth)
    est = estimate_response(ldr.astype(np.float32) / 255.0)
    assert est.source == "estimated" and "fallback" not in est.info, est.info
    assert log_curve_error(est, truth) < 0.1, (est.describe(), log_curve_error(est, truth))
    # the fitted curve explains the edges better than the standard one it would fall back to
    assert est.info["cost"] < est.info["srgb_cost"]


def test_true_curve_is_the_minimum_of_the_edge_cost_on_a_physical_scene():
    truth = Response("gamma", 2.0)
    ldr = to_ldr(sky_and_patches(512, 3), 1.0, truth)
    samples = edge_samples(ldr.astype(np.float32) / 255.0)
    costs = {g: collinearity_cost(samples, Response("gamma", g)) for g in (1.2, 1.6, 2.0, 2.4, 2.8)}
    assert min(costs, key=costs.get) == 2.0, costs


@pytest.mark.parametrize(
    "image",
    [
        # a clear sky gradient alone: smooth, no edges between colours
        np.tile(np.linspace([0.2, 0.35, 0.8], [0.6, 0.65, 0.7], 128)[:, None, :], (1, 256, 1)),
        # flat grey
        np.full((128, 256, 3), 0.5),
        # edges between regions of one chromaticity only (grey steps): no colour mixes
        np.repeat(np.repeat(np.random.default_rng(0).uniform(0.1, 0.9, (8, 16, 1)), 16, 0), 16, 1)
        * np.ones(3),
    ],
    ids=["sky-gradient", "flat", "grey-steps"],
)
def test_featureless_input_falls_back_to_srgb_with_a_reason(image):
    est = estimate_response(np.round(image * 255) / 255)
    assert est.kind == "srgb" and est.source == "estimated"
    assert "assumed sRGB" in est.info["fallback"], est.info
    assert est.describe() == "sRGB (assumed, not estimated)"


def test_edges_mixed_in_code_values_read_as_linear():
    """The cue's limit, pinned: mixes formed *after* the curve (an 8-bit image resized in code
    values) are linear in code values, so the edges say "gamma 1" whatever the camera's curve
    was. Only pixels that integrated radiance carry the camera's curve."""
    truth = Response("gamma", 2.2)
    rng = np.random.default_rng(4)
    codes = np.zeros((1024, 2048, 3), np.float32) + np.float32(0.4)
    for _ in range(150):
        x0, y0 = int(rng.integers(0, 2048)), int(rng.integers(0, 1024))
        size = rng.integers(24, 200, 2)
        colour = truth.forward(rng.uniform(0.03, 0.9, 3)).tolist()
        cv2.rectangle(codes, (x0, y0), (x0 + int(size[0]), y0 + int(size[1])), colour, -1)
    small = cv2.resize(codes, (512, 256), interpolation=cv2.INTER_AREA)
    est = estimate_response(np.round(small * 255) / 255)
    assert log_curve_error(est, Response("gamma", 1.0)) < 0.1, est.describe()
    assert log_curve_error(est, truth) > 0.5


def test_recovery_records_the_estimate_and_its_fallback_reason():
    sky = np.tile(np.linspace([0.2, 0.35, 0.8], [0.6, 0.65, 0.7], 64)[:, None, :], (1, 128, 1))
    ldr = to_ldr(sky.astype(np.float32), 1.0, Response("srgb"))
    rec = recover_hdr(ldr, RecoverOptions(response="estimate"))
    said = rec.info["response"]
    assert said["source"] == "estimated" and said["kind"] == "srgb"
    assert "assumed sRGB" in said["info"]["fallback"]
    assert said["description"] == "sRGB (assumed, not estimated)"
