"""Shared helpers for the sphere tests: random polygons and independent references."""

from __future__ import annotations

import math

import numpy as np
import shapely
from hypothesis import strategies as st
from shapely.geometry import Polygon

from label360.sphere.polygons import as_geometry
from label360.sphere.vectors import lonlat_to_vec, rot_x, rot_y, vec_to_lonlat


def frame_at(lon: float, lat: float) -> np.ndarray:
    """Rotation taking +z to (lon, lat)."""
    return rot_y(lon) @ rot_x(-lat)


def star_ring(lon, lat, radii_deg, phase=0.0):
    """Star-shaped ring around (lon, lat) with the given angular radii (CCW seen from outside)."""
    n = len(radii_deg)
    t = phase + np.arange(n) * 2 * math.pi / n
    r = np.radians(np.asarray(radii_deg, dtype=float))
    v = np.stack([np.sin(r) * np.cos(t), np.sin(r) * np.sin(t), np.cos(r)], axis=1)
    w = v @ frame_at(lon, lat).T
    lo, la = vec_to_lonlat(w)
    return np.stack([lo, la], axis=1).tolist()


@st.composite
def star_polygons(draw, max_radius=70.0, min_radius=0.5, holes=True):
    """(polygon, centre) with optional star hole around the same centre."""
    lon = draw(st.floats(-180, 179.999))
    lat = draw(st.floats(-89.0, 89.0))
    n = draw(st.integers(3, 20))
    rmax = draw(st.floats(min_radius, max_radius))
    fr = draw(st.lists(st.floats(0.35, 1.0), min_size=n, max_size=n))
    phase = draw(st.floats(0, 2 * math.pi))
    radii = [rmax * f for f in fr]
    poly = [star_ring(lon, lat, radii, phase)]
    if holes and draw(st.booleans()) and n >= 3:
        k = draw(st.integers(3, 8))
        hr = [0.3 * min(radii) * draw(st.floats(0.5, 1.0)) for _ in range(k)]
        poly.append(star_ring(lon, lat, hr, 0.1)[::-1])
    return poly, (lon, lat)


def pixel_centres(width, height):
    lon = (np.arange(width) + 0.5) / width * 360 - 180
    lat = 90 - (np.arange(height) + 0.5) / height * 180
    lon2, lat2 = np.meshgrid(lon, lat)
    return lon2, lat2


def reference_inside(poly, centre, lon2, lat2):
    """Independent point-in-polygon: gnomonic projection about `centre` + shapely (exact for
    great-circle edges when the polygon lies in the open hemisphere around the centre)."""
    frame = frame_at(*centre)
    p = lonlat_to_vec(lon2, lat2) @ frame  # to local frame: centre at +z
    front = p[..., 2] > 1e-12
    z = np.where(front, p[..., 2], 1.0)
    x, y = p[..., 0] / z, p[..., 1] / z
    rings = []
    for ring in poly:
        q = lonlat_to_vec(np.array(ring)[:, 0], np.array(ring)[:, 1]) @ frame
        rings.append(np.stack([q[:, 0] / q[:, 2], q[:, 1] / q[:, 2]], axis=1))
    sp = Polygon(rings[0], rings[1:])
    inside = shapely.contains_xy(sp, x, y) & front
    return inside


def near_boundary(geometry, lon2, lat2, eps=1e-9):
    """Pixel centres within eps radians of any edge's great circle."""
    p = lonlat_to_vec(lon2, lat2)
    near = np.zeros(lon2.shape, dtype=bool)
    for poly in as_geometry(geometry):
        for ring in poly:
            v = lonlat_to_vec(np.array(ring)[:, 0], np.array(ring)[:, 1])
            n = np.cross(v, np.roll(v, -1, axis=0))
            n /= np.linalg.norm(n, axis=1, keepdims=True)
            d = np.abs(p @ n.T)
            near |= (d < eps).any(axis=-1)
    return near


def lhuilier_star_area(ring, centre):
    """Area of a ring star-shaped about `centre` by L'Huilier's theorem (independent formula)."""
    c = lonlat_to_vec(*centre)
    v = lonlat_to_vec(np.array(ring)[:, 0], np.array(ring)[:, 1])
    total = 0.0
    for k in range(len(v)):
        a, b = v[k], v[(k + 1) % len(v)]
        sa = math.atan2(np.linalg.norm(np.cross(b, c)), b @ c)
        sb = math.atan2(np.linalg.norm(np.cross(a, c)), a @ c)
        sc = math.atan2(np.linalg.norm(np.cross(a, b)), a @ b)
        s = (sa + sb + sc) / 2
        t = (
            math.tan(s / 2)
            * math.tan((s - sa) / 2)
            * math.tan((s - sb) / 2)
            * math.tan((s - sc) / 2)
        )
        total += 4 * math.atan(math.sqrt(max(t, 0.0)))
    return total
