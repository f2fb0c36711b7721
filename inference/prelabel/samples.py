"""Training samples: random rectilinear views of a panorama, targets rasterised exactly.

A target pixel gets the class of the last (topmost) instance whose spherical polygon
contains it: each polygon is projected with :func:`label360.sphere.geometry_to_view` (exact,
clipped; straight lines in a view are great circles) and filled with ``cv2.fillPoly``.
Ignore classes are written as :data:`IGNORE` and left out of the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from label360.sphere import View, equirect_to_view, geometry_to_view

IGNORE = 255


@dataclass(frozen=True)
class LabelledPanorama:
    """An equirect RGB image (uint8) and its instances as (target index, geometry).

    Target index: 1..K for a trained class, :data:`IGNORE` for an ignore class. Instances
    are in drawing order (later on top).
    """

    rgb: np.ndarray
    instances: list[tuple[int, list]]


@dataclass(frozen=True)
class ViewSampler:
    """Distribution of training views: uniform yaw, pitch ~ N(0, pitch_std), FOV range."""

    size: int = 128
    hfov_range: tuple[float, float] = (60.0, 110.0)
    pitch_std: float = 20.0
    pitch_limit: float = 80.0
    roll_std: float = 3.0

    def draw(self, rng: np.random.Generator) -> View:
        pitch = float(np.clip(rng.normal(0.0, self.pitch_std), -self.pitch_limit, self.pitch_limit))
        return View(
            yaw=float(rng.uniform(-180.0, 180.0)),
            pitch=pitch,
            roll=float(rng.normal(0.0, self.roll_std)),
            hfov=float(rng.uniform(*self.hfov_range)),
            width=self.size,
            height=self.size,
        )


def rasterize_targets(instances: list[tuple[int, list]], view: View) -> np.ndarray:
    """uint8 (H, W) target of a view: 0 background, class index, or IGNORE.

    Instances are stored (validated) geometry, so they are not re-validated per view.
    """
    target = np.zeros((view.height, view.width), np.uint8)
    for index, geometry in instances:
        for part in geometry_to_view(geometry, view, validate=False):
            # cv2 fills with pixel centres at integer coordinates, like the View convention;
            # sub-pixel precision with 4 fractional bits.
            rings = [np.round(ring * 16).astype(np.int32) for ring in part]
            cv2.fillPoly(target, rings, int(index), lineType=cv2.LINE_8, shift=4)
    return target


def render_sample(pano: LabelledPanorama, view: View) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 RGB view image, uint8 target) of one view."""
    image = equirect_to_view(
        pano.rgb, view.yaw, view.pitch, view.roll, view.hfov, view.width, view.height
    )
    return image, rasterize_targets(pano.instances, view)


def make_samples(
    panoramas: list[LabelledPanorama],
    views_per_panorama: int,
    sampler: ViewSampler,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Stacked samples: images (N, H, W, 3) uint8 and targets (N, H, W) uint8."""
    rng = np.random.default_rng(seed)
    images, targets = [], []
    for pano in panoramas:
        for _ in range(views_per_panorama):
            image, target = render_sample(pano, sampler.draw(rng))
            images.append(image)
            targets.append(target)
    return np.stack(images), np.stack(targets)
