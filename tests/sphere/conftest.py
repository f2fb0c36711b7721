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


# --- degenerate-geometry strategies (meridian edges, pixel-centre coordinates, seam, poles) ---


def pixel_lon(c, width):
    """Exact float longitude of column c's centre (the CONVENTIONS.md formula)."""
    return (c + 0.5) / width * 360 - 180


def pixel_lat(r, height):
    return 90 - (r + 0.5) / height * 180


def ulps(x, k):
    """x moved by k ulps (k may be negative)."""
    for _ in range(abs(k)):
        x = float(np.nextafter(x, math.inf if k > 0 else -math.inf))
    return x


@st.composite
def grid_lons(draw, width):
    """A longitude that is a pixel-centre lon, the seam (-180), or arbitrary."""
    kind = draw(st.sampled_from(["centre", "centre", "seam", "free"]))
    c = draw(st.integers(0, width - 1))
    if kind == "centre":
        return pixel_lon(c, width)
    if kind == "seam":
        return -180.0
    return pixel_lon(c, width) + draw(st.floats(-0.5, 0.5)) * 360 / width


@st.composite
def grid_lats(draw, height, lo=-89.9, hi=89.9):
    kind = draw(st.sampled_from(["centre", "free", "polar"]))
    if kind == "centre":
        r = draw(st.integers(0, height - 1))
        return min(hi, max(lo, pixel_lat(r, height)))
    if kind == "polar":
        return draw(st.sampled_from([1, -1])) * (90 - draw(st.floats(1e-6, 2.0)))
    return draw(st.floats(lo, hi))


@st.composite
def meridian_boxes(draw, width, height):
    """Quadrilaterals as a level camera sees a box: two edges along meridians (exactly equal
    longitudes, or a few ulps apart), longitudes at pixel centres / the seam, latitudes at
    row centres / near the poles; optionally extra collinear vertices on a meridian edge."""
    lon0 = draw(grid_lons(width))
    span = draw(st.integers(1, max(1, width // 4))) * 360 / width
    if draw(st.booleans()):
        span += draw(st.floats(-0.49, 0.49)) * 360 / width
    lon1 = lon0 + span
    if lon1 >= 180:
        lon1 -= 360
    if draw(st.booleans()):  # snap the east edge to a pixel-centre meridian
        lon1 = pixel_lon(round((lon1 + 180) / 360 * width - 0.5) % width, width)
    lats = sorted(draw(st.lists(grid_lats(height), min_size=4, max_size=4)))
    lat_a, lat_b = lats[0], lats[1]  # bottom-left, bottom-right
    lat_c, lat_d = lats[3], lats[2]  # top-right, top-left
    if draw(st.booleans()):
        lat_a, lat_b = lat_b, lat_a
    k1 = draw(st.sampled_from([0, 0, 0, 1, -1, 2]))
    k0 = draw(st.sampled_from([0, 0, 0, 1, -1]))
    ring = [[lon0, lat_a], [lon1, lat_b], [ulps(lon1, k1), lat_c], [ulps(lon0, k0), lat_d]]
    ring = [[lo if lo >= -180 else lo + 360, la] for lo, la in ring]
    ring = [[lo if lo <= 180 else lo - 360, la] for lo, la in ring]
    if draw(st.booleans()):  # a collinear vertex in the middle of the west meridian edge
        ring.append([ring[3][0] if k0 == 0 else lon0, (lat_d + lat_a) / 2])
    if draw(st.booleans()):
        ring = ring[::-1]
    return ring


@st.composite
def polar_caps(draw, width, height):
    """Rings around (or next to) a pole with vertices at pixel-centre longitudes and row-centre
    latitudes, optionally with a meridian notch (two consecutive vertices at one lon)."""
    n = draw(st.integers(3, 7))
    cols = sorted(draw(st.lists(st.integers(0, width - 1), min_size=n, max_size=n, unique=True)))
    lons = [pixel_lon(c, width) for c in cols]
    gaps = np.diff(lons + [lons[0] + 360])
    sign = draw(st.sampled_from([1, -1]))
    rows = st.integers(0, max(1, height // 12))
    ring = []
    for lo in lons:
        r = draw(rows)
        la = pixel_lat(r, height) if sign > 0 else -pixel_lat(r, height)
        ring.append([lo, la])
        if draw(st.integers(0, 3)) == 0:  # meridian notch towards the equator
            ring.append([lo, la - sign * draw(st.floats(0.5, 5.0))])
    if gaps.max() >= 179:  # not around the pole: a wedge next to it
        pass
    return ring


def reference_mask_east(geometry, width, height, shift_deg=1e-11):
    """Independent per-pixel reference with the rasteriser's tie rule for meridian edges:
    each centre is evaluated slightly EAST.  Centre for the gnomonic projection = normalised
    vertex sum of each outer ring; None when a ring is not within the open hemisphere around
    it (the gnomonic reference would be wrong)."""
    lon2, lat2 = pixel_centres(width, height)
    expect = np.zeros((height, width), dtype=bool)
    for poly in as_geometry(geometry):
        v = lonlat_to_vec(poly[0][:, 0], poly[0][:, 1])
        c = v.sum(axis=0)
        c /= np.linalg.norm(c)
        if (v @ c).min() < 0.05:
            return None  # not within an open hemisphere around c: no gnomonic reference
        lo, la = vec_to_lonlat(c)
        centre = (float(lo), float(la))
        expect |= reference_inside([r.tolist() for r in poly], centre, lon2 + shift_deg, lat2)
    return expect


def near_arcs(geometry, width, height, eps=1e-9):
    """Pixel centres within eps radians of an edge ARC (not the whole great circle), except a
    centre lying exactly on a meridian edge's longitude (decided exactly by the east rule)."""
    from label360.sphere.polygons import point_arc_distance

    lon2, lat2 = pixel_centres(width, height)
    p = lonlat_to_vec(lon2, lat2)
    near = np.zeros(lon2.shape, dtype=bool)
    for poly in as_geometry(geometry):
        for ring in poly:
            v = lonlat_to_vec(ring[:, 0], ring[:, 1])
            w = np.roll(v, -1, axis=0)
            lon_b = np.roll(ring[:, 0], -1)
            for k in range(len(v)):
                d = point_arc_distance(p, v[k], w[k]) < eps
                if ring[k, 0] == lon_b[k]:
                    d &= lon2 != ring[k, 0]
                near |= d
    return near
