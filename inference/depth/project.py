"""Putting per-view predictions onto the equirect grid (through label360.sphere only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from label360.sphere.projection import view_to_equirect
from label360.sphere.views import View

from .estimators import Prediction, view_ray_cosines

#: relative difference (in log) between bilinear and nearest samples that marks an edge
EDGE_LOG_JUMP = 0.1


def feather(view: View, power: float = 1.0) -> np.ndarray:
    """Blending weight in the view: 1 at the centre, falling to 0 at the border (H, W)."""
    xn = (np.arange(view.width) + 0.5) / view.width * 2 - 1
    yn = (np.arange(view.height) + 0.5) / view.height * 2 - 1
    w = np.outer(1 - np.abs(yn), 1 - np.abs(xn)).astype(np.float32)
    return np.maximum(w, 1e-4) ** power


@dataclass
class Projected:
    """One view's prediction on an equirect grid (arrays H×W; meaningless where not valid)."""

    values: np.ndarray  # the raw prediction
    cos: np.ndarray  # cos(angle to the view's optical axis)
    weight: np.ndarray  # feather weight
    valid: np.ndarray  # bool


def project_prediction(view: View, pred: Prediction, width: int, height: int) -> Projected:
    """Resample one view's prediction (and its ray cosines and feather) onto W×H equirect."""
    stack = np.stack(
        [
            np.where(pred.valid, pred.values, 0).astype(np.float32),
            view_ray_cosines(view),
            feather(view),
            pred.valid.astype(np.float32),
        ],
        axis=-1,
    )
    out, inside = view_to_equirect(stack, view, width, height, interpolation="bilinear")
    # Bilinear mixing across a depth discontinuity invents surfaces in between (fatal next to
    # the sky); there, take the nearest sample instead.
    near, _ = view_to_equirect(stack[..., 0], view, width, height, interpolation="nearest")
    values = out[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        jump = np.abs(np.log(np.maximum(values, 1e-30) / np.maximum(near, 1e-30))) > EDGE_LOG_JUMP
    values = np.where(jump, near, values)
    valid = inside & (out[..., 3] > 0.999) & (values > 0)
    return Projected(values, out[..., 1], out[..., 2], valid)
