"""A ground-truth "estimator" for tests and benchmarks (never used by jobs).

It samples the TRUE equirect distance map (distance along the ray, as the synthetic
renderer produces) into each view, converts it to the view's z-depth
(``z = distance · cos(angle to the optical axis)``) and then hides the scale like a real
monocular network would:

* ``mode="z"``: returns ``s · z`` with a random unknown scale ``s`` per view;
* ``mode="inverse"``: returns ``a / z + b`` (MiDaS-like relative inverse depth) with a
  random unknown scale ``a`` and shift ``b ≥ 0`` per view.

``distortion`` > 0 additionally multiplies each view's depth by a smooth random gain
``exp(distortion · (g·x + h·y))`` (x, y ∈ [-1, 1] across the view): a residual error that
no per-view scale/shift can explain, as real networks have — it makes the views disagree
in their overlaps, which is what the gradient-domain fusion is for.
"""

from __future__ import annotations

import numpy as np

from label360.sphere.projection import equirect_to_view
from label360.sphere.views import View

from .estimators import Prediction, view_ray_cosines


class OracleEstimator:
    name = "oracle"

    def __init__(
        self,
        true_distance: np.ndarray,
        mode: str = "z",
        seed: int = 0,
        sky_distance: float = 1000.0,
        distortion: float = 0.0,
        scale_range: tuple[float, float] = (0.3, 3.0),
        interpolation: str = "nearest",
    ):
        if mode not in ("z", "inverse"):
            raise ValueError("mode must be 'z' or 'inverse'")
        d = np.asarray(true_distance, np.float32)
        self.distance = np.where(np.isfinite(d), d, np.float32(sky_distance)).astype(np.float32)
        self.mode = mode
        self.interpolation = interpolation
        self.rng = np.random.default_rng(seed)
        self.distortion = float(distortion)
        self.scale_range = scale_range
        self.truth: list[dict] = []  # the hidden per-view parameters, for inspection

    def predict(self, rgb: np.ndarray, view: View) -> Prediction:
        dist = equirect_to_view(
            self.distance,
            view.yaw,
            view.pitch,
            view.roll,
            view.hfov,
            view.width,
            view.height,
            interpolation="nearest",
            antialias=False,
        )
        z = dist * view_ray_cosines(view)
        if self.distortion:
            g, h = self.rng.uniform(-1, 1, 2)
            ys, xs = np.mgrid[0 : view.height, 0 : view.width]
            xn = (xs + 0.5) / view.width * 2 - 1
            yn = (ys + 0.5) / view.height * 2 - 1
            z = z * np.exp(self.distortion * (g * xn + h * yn)).astype(np.float32)
        lo, hi = np.log(self.scale_range[0]), np.log(self.scale_range[1])
        scale = float(np.exp(self.rng.uniform(lo, hi)))
        if self.mode == "z":
            self.truth.append({"scale": scale})
            return Prediction(scale * z, "z")
        inv = 1.0 / z
        shift = float(self.rng.uniform(0.0, 0.5)) * scale * float(np.median(inv))
        self.truth.append({"scale": scale, "shift": shift})
        return Prediction(scale * inv + shift, "inverse")
