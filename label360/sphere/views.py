"""Rectilinear (gnomonic) views and cube faces.

A view is ``(yaw, pitch, roll, hfov, width, height)`` in degrees/pixels.  The camera-to-world
rotation is written down exactly once, in :meth:`View.rotation`::

    R = Ry(yaw) @ Rx(-pitch) @ Rz(-roll)

with Ry, Rx right-handed (Ry(90) maps +z to +x = lon 90; Rx(-90) maps +z to +y = lat 90) and
Rz clockwise-positive (see :func:`label360.sphere.vectors.rot_z`), so that a positive roll turns
the picture clockwise as seen by the viewer: with roll = 90 a point that was right of centre
appears below centre.

Pixel coordinates: ``(x, y)`` with the centre of pixel column x / row y at the integer value
(the same as numpy indices and cv2 contour points).  The camera ray of (x, y) is
``((x + 0.5 - W/2)/f, -(y + 0.5 - H/2)/f, 1)`` with ``f = (W/2)/tan(hfov/2)``; the image
covers x in [-0.5, W - 0.5] and y in [-0.5, H - 0.5].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .vectors import lonlat_to_vec, rot_x, rot_y, rot_z, vec_to_lonlat

__all__ = ["View", "FACE_NAMES", "FACE_DIRECTIONS", "cube_face_views"]

#: Cube face order used everywhere (exports, cubemap lists).
FACE_NAMES: tuple[str, ...] = ("F", "R", "B", "L", "U", "D")
#: (yaw, pitch) of each face, in FACE_NAMES order; roll is 0.
FACE_DIRECTIONS: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),
    (90.0, 0.0),
    (180.0, 0.0),
    (-90.0, 0.0),
    (0.0, 90.0),
    (0.0, -90.0),
)


@dataclass(frozen=True)
class View:
    """A rectilinear camera looking at the panorama."""

    yaw: float
    pitch: float
    roll: float
    hfov: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if not (0.0 < float(self.hfov) < 180.0):
            raise ValueError(f"hfov must be in (0, 180) degrees, got {self.hfov}")
        if int(self.width) < 1 or int(self.height) < 1:
            raise ValueError(f"view size must be positive, got {self.width}x{self.height}")
        for name in ("yaw", "pitch", "roll", "hfov"):
            if not math.isfinite(float(getattr(self, name))):
                raise ValueError(f"{name} must be finite")

    @property
    def focal(self) -> float:
        """Focal length in pixels: (W/2)/tan(hfov/2)."""
        return (self.width / 2.0) / math.tan(math.radians(self.hfov) / 2.0)

    @property
    def vfov(self) -> float:
        """Vertical field of view in degrees (square pixels)."""
        return math.degrees(2.0 * math.atan((self.height / 2.0) / self.focal))

    def rotation(self) -> NDArray[np.float64]:
        """Camera-to-world rotation R = Ry(yaw) @ Rx(-pitch) @ Rz(-roll) (3x3, float64)."""
        return rot_y(self.yaw) @ rot_x(-self.pitch) @ rot_z(-self.roll)

    # -- pixels <-> camera rays -------------------------------------------------------------
    def pixel_to_ray(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
        """Camera-frame ray(s) (not normalised, z = 1) of pixel coordinate(s) (x, y)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        f = self.focal
        return np.stack(
            [
                (x + 0.5 - self.width / 2.0) / f,
                -(y + 0.5 - self.height / 2.0) / f,
                np.ones(np.broadcast(x, y).shape),
            ],
            axis=-1,
        )

    def ray_to_pixel(self, ray: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Pixel coordinates of camera-frame ray(s); NaN where the ray is not in front (z <= 0)."""
        ray = np.asarray(ray, dtype=np.float64)
        z = ray[..., 2]
        front = z > 0
        zs = np.where(front, z, 1.0)
        f = self.focal
        x = ray[..., 0] / zs * f + self.width / 2.0 - 0.5
        y = -ray[..., 1] / zs * f + self.height / 2.0 - 0.5
        return np.where(front, x, np.nan), np.where(front, y, np.nan)

    # -- pixels <-> world -------------------------------------------------------------------
    def pixel_to_vec(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
        """World unit vector(s) of pixel coordinate(s)."""
        r = self.pixel_to_ray(x, y) @ self.rotation().T
        return r / np.linalg.norm(r, axis=-1, keepdims=True)

    def pixel_to_lonlat(
        self, x: ArrayLike, y: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(lon, lat) degrees of pixel coordinate(s) (x, y)."""
        return vec_to_lonlat(self.pixel_to_vec(x, y))

    def vec_to_pixel(self, v: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Pixel coordinates of world vector(s); NaN for directions behind the camera."""
        return self.ray_to_pixel(np.asarray(v, dtype=np.float64) @ self.rotation())

    def lonlat_to_pixel(
        self, lon: ArrayLike, lat: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Pixel coordinates of (lon, lat); NaN for directions behind the camera.

        Points in front of the camera but outside the image get coordinates outside
        [-0.5, W-0.5] x [-0.5, H-0.5].
        """
        return self.vec_to_pixel(lonlat_to_vec(lon, lat))

    def as_dict(self) -> dict[str, float | int]:
        return {
            "yaw": float(self.yaw),
            "pitch": float(self.pitch),
            "roll": float(self.roll),
            "hfov": float(self.hfov),
            "width": int(self.width),
            "height": int(self.height),
        }


def cube_face_views(face_size: int, fov: float = 90.0) -> list[View]:
    """The six cube-face views (F R B L U D), square, with horizontal FOV `fov` >= 90."""
    if fov < 90.0 or fov >= 180.0:
        raise ValueError(f"cube face fov must be in [90, 180), got {fov}")
    return [View(yaw, pitch, 0.0, fov, face_size, face_size) for yaw, pitch in FACE_DIRECTIONS]
