"""Overlapping perspective view sets covering the sphere (step 1 of depth estimation).

Layouts (all views overlap their neighbours, which the scale alignment needs):

* ``cube``  — the six cube faces F R B L U D with an expanded FOV (default 110°).
* ``ring``  — ``n`` horizontal views around the horizon (FOV wider than 360/n) plus a top
  and a bottom view.
* ``icosa`` — 20 views looking at the face centres of an icosahedron (FOV default 80°):
  the densest, most uniform set.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from label360.sphere.vectors import vec_to_lonlat
from label360.sphere.views import View, cube_face_views

LAYOUTS = ("cube", "ring", "icosa")
DEFAULT_FOV = {"cube": 110.0, "ring": 100.0, "icosa": 80.0}


def _icosahedron_face_centres() -> np.ndarray:
    phi = (1 + math.sqrt(5)) / 2
    verts = []
    for a, b in itertools.product((-1, 1), (-phi, phi)):
        verts += [(0, a, b), (a, b, 0), (b, 0, a)]
    v = np.array(verts, float)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    edge = min(np.linalg.norm(v[i] - v[j]) for i in range(len(v)) for j in range(i + 1, len(v)))
    faces = []
    for i, j, k in itertools.combinations(range(len(v)), 3):
        d = [np.linalg.norm(v[i] - v[j]), np.linalg.norm(v[j] - v[k]), np.linalg.norm(v[i] - v[k])]
        if all(abs(x - edge) < 1e-6 for x in d):
            c = v[i] + v[j] + v[k]
            faces.append(c / np.linalg.norm(c))
    return np.array(faces)


def make_views(layout: str, size: int, fov: float | None = None, n: int = 8) -> list[View]:
    """The views of ``layout``, each ``size``×``size`` pixels with horizontal FOV ``fov``."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    fov = float(fov if fov is not None else DEFAULT_FOV[layout])
    if layout == "cube":
        if not 90.0 < fov < 170.0:
            raise ValueError("cube faces need an FOV above 90° so that they overlap")
        return cube_face_views(size, fov)
    if layout == "ring":
        if n < 3 or fov <= 360.0 / n:
            raise ValueError(f"ring of {n} views needs an FOV above {360.0 / n:.1f}°")
        views = [
            View(k * 360.0 / n - 180.0 + 180.0 / n, 0.0, 0.0, fov, size, size) for k in range(n)
        ]
        cap_fov = max(fov, 100.0)
        views += [
            View(0.0, 90.0, 0.0, cap_fov, size, size),
            View(0.0, -90.0, 0.0, cap_fov, size, size),
        ]
        return views
    centres = _icosahedron_face_centres()
    # rotate slightly so no view looks exactly at a pole (keeps yaw well defined)
    lon, lat = vec_to_lonlat(centres)
    return [
        View(float(lo), float(la), 0.0, fov, size, size) for lo, la in zip(lon, lat, strict=True)
    ]
