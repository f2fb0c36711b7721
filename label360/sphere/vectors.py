"""Directions on the sphere: (lon, lat) degrees <-> unit vectors, rotations, arcs.

Convention (see docs/conventions.md): x = cos(lat) sin(lon), y = sin(lat),
z = cos(lat) cos(lon); lon in [-180, 180) east-positive, lat up.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "lonlat_to_vec",
    "vec_to_lonlat",
    "wrap_lon",
    "rot_x",
    "rot_y",
    "rot_z",
    "arc_points",
    "angle_between",
    "cross3",
]


def wrap_lon(lon: ArrayLike) -> NDArray[np.float64]:
    """Wrap longitudes (degrees) into [-180, 180)."""
    lon = np.asarray(lon, dtype=np.float64)
    out = np.mod(lon + 180.0, 360.0) - 180.0
    # np.mod can return 360.0 for tiny negative inputs (rounding); fold it back.
    return np.where(out >= 180.0, out - 360.0, out)


def lonlat_to_vec(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.float64]:
    """Unit vector(s) of direction(s) (lon, lat) in degrees; shape (..., 3)."""
    lon = np.radians(np.asarray(lon, dtype=np.float64))
    lat = np.radians(np.asarray(lat, dtype=np.float64))
    c = np.cos(lat)
    return np.stack([c * np.sin(lon), np.sin(lat), c * np.cos(lon)], axis=-1)


def vec_to_lonlat(v: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(lon, lat) in degrees of vector(s) of shape (..., 3); need not be unit length."""
    v = np.asarray(v, dtype=np.float64)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    lon = wrap_lon(np.degrees(np.arctan2(x, z)))
    # atan2 form is accurate near the poles, unlike asin(y).
    lat = np.degrees(np.arctan2(y, np.hypot(x, z)))
    return lon, lat


def rot_x(deg: float) -> NDArray[np.float64]:
    """Right-handed rotation about +x by `deg`: maps +z towards -y for deg > 0."""
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(deg: float) -> NDArray[np.float64]:
    """Right-handed rotation about +y by `deg`: maps +z towards +x (east) for deg > 0."""
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(deg: float) -> NDArray[np.float64]:
    """Rotation about the viewing axis +z, CLOCKWISE as seen by a viewer looking along +z.

    Maps +y (up) towards +x (right) for deg > 0.  This is the left-handed sign, chosen so
    that ``R = Ry(yaw) Rx(-pitch) Rz(-roll)`` turns the picture clockwise for roll > 0.
    """
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def angle_between(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Angle in radians between vectors (atan2 form: accurate for tiny and ~pi angles)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1))


def arc_points(a: ArrayLike, b: ArrayLike, n: int) -> NDArray[np.float64]:
    """`n` >= 2 unit vectors evenly spaced (by angle) on the minor arc from a to b, ends included."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    theta = float(angle_between(a, b))
    t = np.linspace(0.0, 1.0, n)[:, None]
    if theta < 1e-12:
        return np.repeat(a[None], n, axis=0)
    # Slerp; sin(theta) > 0 because edges are shorter than 180 degrees.
    s = np.sin(theta)
    return (np.sin((1 - t) * theta) * a + np.sin(t * theta) * b) / s


def cross3(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Cross product of (..., 3) arrays (broadcasting); much lower overhead than np.cross."""
    a = np.asarray(a)
    b = np.asarray(b)
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
