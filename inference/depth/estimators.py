"""Monocular depth estimators behind one small interface (step 2).

An estimator turns one perspective view into a :class:`Prediction` whose ``kind`` says
what the numbers are — the alignment step needs to know:

* ``"z"`` — z-depth (distance along the view's optical axis) up to an unknown scale;
* ``"distance"`` — distance along each pixel's ray, up to an unknown scale;
* ``"inverse"`` — relative inverse z-depth (disparity) up to unknown scale AND shift, as
  MiDaS-like networks output it.

Built in:

* :class:`GeometricPriorEstimator` — NOT a learned model: a prior that assumes a flat ground
  plane ``camera_height`` metres below the camera (below the horizon) and a far field at
  ``far`` metres (above it, and beyond ``far`` on the ground). It gives a fresh install a
  plausible, seam-free depth layout for navigation and previews; it knows nothing about
  objects, walls or the actual scene.
* :class:`ModelEstimator` — a network from the model registry, TorchScript or ONNX (e.g. a
  MiDaS or Depth Anything export supplied by an admin): resize to ``input_size``,
  normalise, run, resize back. Its ``output`` choice in the registry is the prediction kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from label360.sphere.views import View

PREDICTION_KINDS = ("z", "distance", "inverse")


@dataclass
class Prediction:
    """An estimator's output for one view (``values`` shape = view height × width)."""

    values: np.ndarray  # float32
    kind: str  # one of PREDICTION_KINDS
    valid: np.ndarray | None = None  # bool; None = all valid

    def __post_init__(self) -> None:
        if self.kind not in PREDICTION_KINDS:
            raise ValueError(f"prediction kind must be one of {PREDICTION_KINDS}")
        self.values = np.asarray(self.values, dtype=np.float32)
        mask = np.isfinite(self.values) & (self.values > 0)
        self.valid = mask if self.valid is None else (np.asarray(self.valid, bool) & mask)


class DepthEstimator(Protocol):
    """Anything with ``predict(rgb, view) -> Prediction`` (rgb: uint8 H×W×3 of the view)."""

    name: str

    def predict(self, rgb: np.ndarray, view: View) -> Prediction: ...


def view_ray_cosines(view: View) -> np.ndarray:
    """cos(angle between each pixel's ray and the optical axis), (H, W) float32."""
    ys, xs = np.mgrid[0 : view.height, 0 : view.width]
    rays = view.pixel_to_ray(xs, ys)
    return (1.0 / np.linalg.norm(rays, axis=-1)).astype(np.float32)


class GeometricPriorEstimator:
    """Flat ground ``camera_height`` m below the horizon, far field above (a prior, see module).

    It returns the same map for every photo: jobs label its output a prior, not a measurement.
    """

    name = "geometric_prior"
    measurement = False

    def __init__(self, camera_height: float = 1.6, far: float = 50.0):
        if camera_height <= 0 or far <= camera_height:
            raise ValueError("need 0 < camera_height < far")
        self.camera_height = float(camera_height)
        self.far = float(far)

    def predict(self, rgb: np.ndarray, view: View) -> Prediction:
        ys, xs = np.mgrid[0 : view.height, 0 : view.width]
        world = view.pixel_to_vec(xs, ys)  # unit world rays
        down = -world[..., 1]
        with np.errstate(divide="ignore"):
            ground = np.where(down > 1e-6, self.camera_height / np.maximum(down, 1e-6), np.inf)
        distance = np.minimum(ground, self.far).astype(np.float32)
        return Prediction(distance, "distance")


class ModelEstimator:
    """A registered depth network (TorchScript or ONNX, see :mod:`inference.model_contracts`):
    the view is resized to ``input_size``, normalised, run, and the map resized back.

    ``output`` is the registry's choice and, unchanged, the prediction kind: ``inverse``
    (MiDaS / Depth Anything relative inverse depth), ``z`` or ``distance``.
    """

    #: this estimator measures the scene (the prior does not)
    measurement = True

    def __init__(self, model, name: str = "model"):
        if model.output not in PREDICTION_KINDS:
            raise ValueError(f"output must be one of {PREDICTION_KINDS}, got {model.output!r}")
        self.model = model
        self.output = model.output
        self.name = name

    @classmethod
    def from_weights(cls, weights) -> ModelEstimator:
        """Load a :class:`inference.models.ModelWeights` row (file read via the storage API)."""
        return cls(weights.build(), name=f"{weights.name} v{weights.version}")

    def predict(self, rgb: np.ndarray, view: View) -> Prediction:
        out = self.model.raw(rgb[:, :, :3])
        out = cv2.resize(out, (view.width, view.height), interpolation=cv2.INTER_LINEAR)
        if self.output == "inverse":
            # relative inverse depth: clamp to a small positive floor (the sky reads ~0)
            floor = max(float(np.percentile(out, 99)) * 1e-3, 1e-6)
            out = np.maximum(out, floor)
        return Prediction(out, self.output)


__all__ = [
    "DepthEstimator",
    "GeometricPriorEstimator",
    "PREDICTION_KINDS",
    "Prediction",
    "ModelEstimator",
    "view_ray_cosines",
]
