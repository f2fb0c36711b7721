"""Masks through time: polygons drawn on some frames (keyframes) give every frame a mask.

The nadir object moves little in the camera's frame, so between two keyframes each vertex
moves along the great circle between its two positions (spherical linear interpolation)
when both keyframes have the same polygons with the same vertex counts; otherwise the
nearest keyframe's polygons are used as they are.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from label360.sphere.vectors import lonlat_to_vec, vec_to_lonlat


def _slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    dot = np.clip((a * b).sum(-1, keepdims=True), -1.0, 1.0)
    omega = np.arccos(dot)
    small = omega < 1e-9
    so = np.where(small, 1.0, np.sin(omega))
    wa = np.where(small, 1.0 - t, np.sin((1.0 - t) * omega) / so)
    wb = np.where(small, t, np.sin(t * omega) / so)
    v = wa * a + wb * b
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _same_shape(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        len(pa) == len(pb) and all(len(ra) == len(rb) for ra, rb in zip(pa, pb, strict=True))
        for pa, pb in zip(a, b, strict=True)
    )


def interpolate_geometry(a: list, b: list, t: float) -> list:
    """Geometry between ``a`` (t = 0) and ``b`` (t = 1); vertex by vertex on great circles
    when the two have the same structure, else the nearer of the two."""
    if not _same_shape(a, b):
        return a if t < 0.5 else b
    out = []
    for pa, pb in zip(a, b, strict=True):
        part = []
        for ra, rb in zip(pa, pb, strict=True):
            va = lonlat_to_vec(*np.asarray(ra, np.float64).T)
            vb = lonlat_to_vec(*np.asarray(rb, np.float64).T)
            lon, lat = vec_to_lonlat(_slerp(va, vb, t))
            part.append([[float(x), float(y)] for x, y in zip(lon, lat, strict=True)])
        out.append(part)
    return out


@dataclass
class Keyframes:
    """Polygons (a list of geometries) at some times, sorted by time."""

    times: list[float]
    geometries: list[list]

    def at(self, time: float) -> list:
        """The geometries at ``time``: interpolated between the keyframes around it (pairwise
        when both have the same number of geometries), held before the first / after the
        last."""
        k = bisect.bisect_right(self.times, time)
        if k == 0:
            return self.geometries[0]
        if k == len(self.times):
            return self.geometries[-1]
        t0, t1 = self.times[k - 1], self.times[k]
        g0, g1 = self.geometries[k - 1], self.geometries[k]
        t = (time - t0) / (t1 - t0) if t1 > t0 else 0.0
        if len(g0) != len(g1):
            return g0 if t < 0.5 else g1
        return [interpolate_geometry(a, b, t) for a, b in zip(g0, g1, strict=True)]
