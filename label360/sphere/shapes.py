"""Shapes fixed by a few clicks in a rectilinear view, as spherical polygons.

A round thing in the world (a wheel, a manhole, a sign, a lamp) is an ellipse in every
rectilinear view that sees it whole, wherever it sits on the sphere; in the equirectangular
image the same disc bends into a different curve at every latitude. Three clicks on its
outline in a view fix the ellipse: the two ends of one axis, then any other point of the
outline. The ellipse becomes a ring of the sphere whose vertices lie on it, spaced so that no
great-circle edge (a straight chord in the view) strays more than half a view pixel from the
curve. An upright rectangle takes two clicks at opposite corners (see ``upright_rectangle``).
The browser twin (``frontend/src/sphere/shapes.ts``) drives the annotation tools.
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


#: the widest upright rectangle, in longitude: beyond it "the short way round" is ambiguous
MAX_RECTANGLE_LON = 179.0
#: no corner on a pole: its meridian is undefined there
MAX_RECTANGLE_LAT = 89.9


def upright_rectangle(a: Sequence[float], b: Sequence[float]) -> list[list[float]] | None:
    """The upright rectangle with opposite corners ``a`` and ``b`` ([lon, lat]): the ring
    a, (lon b, lat a), b, (lon a, lat b) with great-circle edges, the short way round in
    longitude. Its sides lie on the meridians through the corners — world verticals — and its
    top and bottom are the great circles through two corners at one latitude: exactly the
    outline of an upright face seen square-on (a door, a sign, a façade), which a level view
    shows as an axis-aligned rectangle. None when the corners share a longitude or a latitude,
    are more than 179° apart in longitude, or one sits on a pole."""
    dlon = (float(b[0]) - float(a[0]) + 180.0) % 360.0 - 180.0
    lat_ok = max(abs(float(a[1])), abs(float(b[1]))) < MAX_RECTANGLE_LAT
    if not (lat_ok and 1e-6 < abs(dlon) <= MAX_RECTANGLE_LON and abs(b[1] - a[1]) > 1e-6):
        return None
    return [
        [float(a[0]), float(a[1])],
        [float(b[0]), float(a[1])],
        [float(b[0]), float(b[1])],
        [float(a[0]), float(b[1])],
    ]
