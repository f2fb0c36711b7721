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
    """Distribution of training views.

    Generic views: uniform yaw, pitch ~ N(0, pitch_std), FOV in ``hfov_range``. A fraction
    ``pole_fraction`` looks (nearly) straight down or up (pitch ±90°, 3:1 down: the camera
    tripod sits at the nadir and pre-labelling has a view there), and a fraction
    ``focus_fraction`` is centred (with jitter) on a SMALL instance (angular radius ≤
    ``small_deg``) with a narrower FOV ``focus_hfov_range``, so thin/small classes (people,
    poles) are seen often and at fine angular resolution.
    """

    size: int = 128
    hfov_range: tuple[float, float] = (60.0, 110.0)
    pitch_std: float = 20.0
    pitch_limit: float = 80.0
    roll_std: float = 3.0
    focus_fraction: float = 0.0
    focus_hfov_range: tuple[float, float] = (30.0, 60.0)
    pole_fraction: float = 0.0
    small_deg: float = 12.0

    def draw(
        self, rng: np.random.Generator, focus: list[tuple[float, float]] | None = None
    ) -> View:
        """One view; ``focus`` are (lon, lat) degrees of small instances to centre on."""
        u = rng.random()
        roll = float(rng.normal(0.0, self.roll_std))
        if u < self.pole_fraction:
            sign = -1.0 if rng.random() < 0.75 else 1.0
            pitch = sign * (90.0 - abs(float(rng.normal(0.0, 8.0))))
            yaw, hfov = float(rng.uniform(-180.0, 180.0)), float(rng.uniform(*self.hfov_range))
        elif focus and u < self.pole_fraction + self.focus_fraction:
            lon, lat = focus[int(rng.integers(len(focus)))]
            hfov = float(rng.uniform(*self.focus_hfov_range))
            jitter = rng.uniform(-0.3, 0.3, 2) * hfov
            yaw = (lon + float(jitter[0]) + 180.0) % 360.0 - 180.0
            pitch = float(np.clip(lat + jitter[1], -self.pitch_limit, self.pitch_limit))
        else:
            pitch = float(
                np.clip(rng.normal(0.0, self.pitch_std), -self.pitch_limit, self.pitch_limit)
            )
            yaw, hfov = float(rng.uniform(-180.0, 180.0)), float(rng.uniform(*self.hfov_range))
        return View(yaw=yaw, pitch=pitch, roll=roll, hfov=hfov, width=self.size, height=self.size)


def _unit(lonlat: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    return np.stack([np.cos(lat) * np.sin(lon), np.sin(lat), np.cos(lat) * np.cos(lon)], -1)


def small_instance_directions(
    instances: list[tuple[int, list]], max_radius_deg: float
) -> list[tuple[float, float]]:
    """(lon, lat) of the centre of each trained instance no wider than ``max_radius_deg``."""
    out = []
    for index, geometry in instances:
        if index == IGNORE or not geometry:
            continue
        verts = np.concatenate([np.asarray(poly[0], float) for poly in geometry if poly])
        v = _unit(verts)
        c = v.sum(axis=0)
        norm = np.linalg.norm(c)
        if norm < 1e-9:
            continue
        c /= norm
        if np.degrees(np.arccos(np.clip(v @ c, -1.0, 1.0).min())) > max_radius_deg:
            continue
        out.append((float(np.degrees(np.arctan2(c[0], c[2]))), float(np.degrees(np.arcsin(c[1])))))
    return out


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
        focus = (
            small_instance_directions(pano.instances, sampler.small_deg)
            if sampler.focus_fraction > 0
            else None
        )
        for _ in range(views_per_panorama):
            image, target = render_sample(pano, sampler.draw(rng, focus))
            images.append(image)
            targets.append(target)
    return np.stack(images), np.stack(targets)
