"""Spherical polygons <-> views: exact projection with frustum clipping, and the inverse.

Great circles are straight lines in a gnomonic view, so a spherical polygon projects to a
straight-edged pixel polygon once it is clipped to the part of the sphere the view sees.
Clipping happens in 3-D (camera frame) against half-spaces through the camera centre:
first z >= eps (drops everything behind the camera, so nothing wraps across the screen), then
the four side planes of the frustum.  Sutherland-Hodgman works unchanged on the sphere for
these because each clip region is a hemisphere and a valid ring's interior (< hemisphere)
cannot contain a whole great circle.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .polygons import as_geometry, ring_vectors, validate_geometry
from .views import View

__all__ = ["clip_ring_halfspaces", "frustum_planes", "geometry_to_view", "view_polygon_to_sphere"]

#: Near "plane" of the z-clip (camera frame, unit vectors): about 1e-6 rad in front of 90 deg.
Z_EPS = 1e-6


def frustum_planes(view: View) -> list[NDArray[np.float64]]:
    """Inward normals n (camera frame) of the clip half-spaces n . v >= 0, z-plane first."""
    tx = view.width / (2.0 * view.focal)
    ty = view.height / (2.0 * view.focal)
    return [
        np.array([1.0, 0.0, tx]),  # x >= -tx z   (left edge x = -0.5)
        np.array([-1.0, 0.0, tx]),  # x <= tx z   (right edge x = W - 0.5)
        np.array([0.0, 1.0, ty]),  # y >= -ty z   (bottom edge)
        np.array([0.0, -1.0, ty]),  # y <= ty z   (top edge)
    ]


def clip_ring_halfspaces(
    v: NDArray[np.float64], planes: list[NDArray[np.float64]], z_eps: float | None = None
) -> NDArray[np.float64]:
    """Sutherland-Hodgman clip of a ring of unit vectors by half-spaces n . v >= 0 (and
    v_z >= z_eps if given).  Returns the clipped ring (m, 3), possibly empty."""
    pts = [np.asarray(p, dtype=np.float64) for p in v]
    checks: list[tuple[NDArray[np.float64], float]] = []
    if z_eps is not None:
        checks.append((np.array([0.0, 0.0, 1.0]), z_eps))
    checks += [(n, 0.0) for n in planes]
    for n, off in checks:
        if not pts:
            break
        out: list[NDArray[np.float64]] = []
        m = len(pts)
        d = [float(p @ n) - off for p in pts]
        for k in range(m):
            a, b = pts[k], pts[(k + 1) % m]
            da, db = d[k], d[(k + 1) % m]
            if da >= 0:
                out.append(a)
            if (da >= 0) != (db >= 0):
                # point of the arc a->b where n.x = off (x on the chord, then normalised:
                # the chord point projects onto the arc, and the plane is through the origin
                # except for the z-clip, where we re-normalise to the unit sphere exactly).
                if off == 0.0:
                    x = abs(db) * a + abs(da) * b
                else:
                    x = _arc_at_z(a, b, off)
                out.append(x / np.linalg.norm(x))
        pts = out
    return np.array(pts).reshape(-1, 3)


def _arc_at_z(a: NDArray[np.float64], b: NDArray[np.float64], z: float) -> NDArray[np.float64]:
    """Point on the minor arc a->b (unit vectors) with z-component `z` (bisection-free, closed
    form via the arc parameterisation x(t) = cos t a + sin t u)."""
    theta = np.arctan2(np.linalg.norm(np.cross(a, b)), a @ b)
    u = b - (a @ b) * a
    u /= np.linalg.norm(u)
    # cos t a_z + sin t u_z = z  ->  R cos(t - phi) = z
    r = np.hypot(a[2], u[2])
    phi = np.arctan2(u[2], a[2])
    c = np.clip(z / r, -1.0, 1.0)
    for t in (phi + np.arccos(c), phi - np.arccos(c)):
        t = np.mod(t, 2 * np.pi)
        if -1e-12 <= t <= theta + 1e-12:
            return np.cos(t) * a + np.sin(t) * u
    return a if abs(a[2] - z) < abs(b[2] - z) else b


def geometry_to_view(
    geometry: Any, view: View, validate: bool = True
) -> list[list[NDArray[np.float64]]]:
    """Exact pixel polygons of a geometry in a view: list of [outer_xy, hole_xy, ...] with
    (m, 2) arrays of pixel coordinates (pixel centres at integers), clipped to the image
    rectangle [-0.5, W-0.5] x [-0.5, H-0.5].  Parts entirely outside the view are omitted.

    ``validate=False`` skips validation for geometry already known to be valid (stored
    instances), e.g. when one geometry is projected into many views.
    """
    g = validate_geometry(geometry) if validate else as_geometry(geometry)
    rot = view.rotation()
    planes = frustum_planes(view)
    culling = [np.array([0.0, 0.0, 1.0]), *planes]
    out = []
    for part in g:
        cams = [ring_vectors(ring) @ rot for ring in part]  # world -> camera (R^T v)
        # Exact early-out: if every outer vertex is outside one clip half-space (a
        # hemisphere), the minor arcs and the smaller region they bound are outside too.
        if any(np.all(cams[0] @ n < 0.0) for n in culling):
            continue
        rings = []
        for k, cam in enumerate(cams):
            clipped = clip_ring_halfspaces(cam, planes, z_eps=Z_EPS)
            if len(clipped) < 3:
                if k == 0:
                    break
                continue
            x, y = view.ray_to_pixel(clipped)
            rings.append(np.stack([x, y], axis=1))
        if rings:
            out.append(rings)
    return out


def view_polygon_to_sphere(points_xy: ArrayLike, view: View) -> list[list[float]]:
    """A polygon drawn in a view (pixel coordinates, (n, 2)) as a spherical ring [[lon, lat], ...].

    Exact: straight lines in the view are great-circle arcs.  The ring is validated.
    """
    pts = np.asarray(points_xy, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError("points_xy must be an (n, 2) array of pixel coordinates")
    lon, lat = view.pixel_to_lonlat(pts[:, 0], pts[:, 1])
    ring = np.stack([lon, lat], axis=1).tolist()
    validate_geometry([[ring]])
    return ring
