"""Shapes fixed by a few clicks in a rectilinear view, as spherical polygons.

A round thing in the world (a wheel, a manhole, a sign, a lamp) is an ellipse in every
rectilinear view that sees it whole, wherever it sits on the sphere; in the equirectangular
image the same disc bends into a different curve at every latitude. Three clicks on its
outline in a view fix the ellipse: the two ends of one axis, then any other point of the
outline. The ellipse becomes a ring of the sphere whose vertices lie on it, spaced so that no
great-circle edge (a straight chord in the view) strays more than half a view pixel from the
curve. The browser twin (``frontend/src/sphere/shapes.ts``) is the annotation tool.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .views import View

#: largest gap between the ellipse and a chord, in view pixels
SAGITTA_PX = 0.5
MIN_VERTICES = 16
MAX_VERTICES = 96


def ellipse_through(
    a: Sequence[float], b: Sequence[float], p: Sequence[float]
) -> np.ndarray | None:
    """Points (n, 2) of the ellipse with one axis from ``a`` to ``b`` through ``p`` (view
    pixels), once round; None when ``p`` fixes none (on the axis line or beyond its ends)."""
    cx, cy = (a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0
    half = math.hypot(b[0] - a[0], b[1] - a[1]) / 2.0
    if not half >= 1.0:
        return None
    ux, uy = (b[0] - a[0]) / (2.0 * half), (b[1] - a[1]) / (2.0 * half)
    # p in the axis frame: along the axis (x) and across it (y)
    x = (p[0] - cx) * ux + (p[1] - cy) * uy
    y = -(p[0] - cx) * uy + (p[1] - cy) * ux
    t = 1.0 - (x / half) ** 2
    if not t > 1e-3 or abs(y) < 0.5:
        return None
    other = abs(y) / math.sqrt(t)
    r = max(half, other)
    n = math.ceil(math.pi / math.acos(max(-1.0, 1.0 - SAGITTA_PX / r)))
    n = max(MIN_VERTICES, min(MAX_VERTICES, n))
    phi = 2.0 * math.pi * np.arange(n) / n
    ex, ey = half * np.cos(phi), other * np.sin(phi)
    return np.stack([cx + ex * ux - ey * uy, cy + ex * uy + ey * ux], axis=1)


def ellipse_ring(
    view: View, a: Sequence[float], b: Sequence[float], p: Sequence[float]
) -> list[list[float]] | None:
    """The ellipse through three clicked (lon, lat) points, drawn in ``view``, as a ring of
    [lon, lat]; None when a point is behind the camera or the three fix no ellipse."""
    lon = np.array([a[0], b[0], p[0]], dtype=np.float64)
    lat = np.array([a[1], b[1], p[1]], dtype=np.float64)
    x, y = view.lonlat_to_pixel(lon, lat)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    points = ellipse_through((x[0], y[0]), (x[1], y[1]), (x[2], y[2]))
    if points is None:
        return None
    rlon, rlat = view.pixel_to_lonlat(points[:, 0], points[:, 1])
    return np.stack([rlon, rlat], axis=1).tolist()
