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
* :class:`TorchScriptEstimator` — a TorchScript network from the model registry (e.g. a
  MiDaS export supplied by an admin): resize to ``input_size``, normalise, run, resize back.
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
    """Flat ground ``camera_height`` m below the horizon, far field above (a prior, see module)."""

    name = "geometric_prior"

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


class TorchScriptEstimator:
    """A TorchScript depth network (input N×3×S×S normalised RGB, output N×S×S or N×1×S×S)."""

    def __init__(
        self,
        module,
        input_size: int = 384,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        output: str = "inverse",
        name: str = "torchscript",
    ):
        if output not in ("inverse", "z"):
            raise ValueError("output must be 'inverse' or 'z'")
        self.module = module
        self.input_size = int(input_size)
        self.mean = np.asarray(mean or (0.5, 0.5, 0.5), np.float32)
        self.std = np.asarray(std or (0.5, 0.5, 0.5), np.float32)
        self.output = output
        self.name = name

    @classmethod
    def from_weights(cls, weights) -> TorchScriptEstimator:
        """Load a :class:`inference.models.ModelWeights` row (file read via the storage API)."""
        import io

        import torch

        with weights.file.open("rb") as handle:
            module = torch.jit.load(io.BytesIO(handle.read()), map_location="cpu")
        module.eval()
        return cls(
            module,
            weights.input_size,
            weights.mean or None,
            weights.std or None,
            weights.output,
            name=f"{weights.name} v{weights.version}",
        )

    def predict(self, rgb: np.ndarray, view: View) -> Prediction:
        import torch

        s = self.input_size
        x = cv2.resize(rgb[:, :, :3], (s, s), interpolation=cv2.INTER_AREA).astype(np.float32)
        x = (x / 255.0 - self.mean) / self.std
        tensor = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]
        with torch.inference_mode():
            out = self.module(tensor)
        out = out.detach().float().cpu().numpy().reshape(s, s)
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
    "TorchScriptEstimator",
    "view_ray_cosines",
]
