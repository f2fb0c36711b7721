"""Exact spherical-polygon ground truth for boxes: silhouettes, occlusion, visible parts.

A box seen from an outside point projects to a *convex* spherical polygon: its outline edges
are images of straight 3-D edges, i.e. great-circle arcs, and the cone of directions to a convex
body is convex. We build it as the convex hull of the 8 corner directions in a gnomonic
projection centred on the direction of the box's closest point (all box points lie strictly in
the open hemisphere around that direction, so the projection is valid even when the box is
huge and close, e.g. the tripod under the camera or the cameraman behind it).

Occlusion is handled exactly too: boxes are disjoint and convex, so along every ray that meets
both of two boxes the same one is nearer (a separating plane exists). The visible region of a
box is its silhouette minus the silhouettes of the nearer boxes that overlap it; convex minus
convex is decomposed into disjoint convex pieces (clip by each edge half-space of the
occluder), so every instance's geometry is a list of disjoint convex parts with great-circle
edges. All polygon maths here is plain 3-D vector algebra on cones through the camera centre.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .raycast import box_entry, closest_point
from .scene import Box, Camera

# Pieces smaller than this (steradians) are numerical slivers of the decomposition; a pixel of
# an 8192-wide panorama is ~5.9e-7 sr, so dropping them cannot change any rasterised pixel.
MIN_PART_AREA = 1e-12
# Consecutive vertices closer than this (radians) are merged (~6e-8 degrees).
MIN_VERTEX_SEPARATION = 1e-9
# Neighbouring vertex longitudes closer than this (degrees) are made equal (see to_lonlat).
LON_SNAP_DEG = 1e-9


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of 3-vectors or (n, 3) rows; np.cross is slow for tiny inputs."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def _cross2(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def _hull_2d(points: np.ndarray) -> list[int]:
    """Andrew's monotone chain; indices of the strict convex hull, counter-clockwise."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    lower: list[int] = []
    for i in order:
        while len(lower) >= 2 and _cross2(points[lower[-2]], points[lower[-1]], points[i]) <= 1e-15:
            lower.pop()
        lower.append(i)
    upper: list[int] = []
    for i in reversed(order):
        while len(upper) >= 2 and _cross2(points[upper[-2]], points[upper[-1]], points[i]) <= 1e-15:
            upper.pop()
        upper.append(i)
    return lower[:-1] + upper[:-1]


def silhouette(box: Box, camera: Camera) -> np.ndarray:
    """Outline of ``box`` seen from the camera: unit vectors (k, 3) in the camera frame.

    Vertices are ordered so that (v_i × v_{i+1}) · x > 0 for interior directions x.
    """
    p = np.asarray(camera.position, float)
    rot = camera.rotation()
    q = closest_point(box, p) - p
    dist = float(np.linalg.norm(q))
    if dist <= 0.0:
        raise ValueError(f"camera is inside or on box {box.id}")
    n = q / dist
    # Right-handed basis (e1, e2, n): counter-clockwise in the plane ⇒ positive triple products.
    helper = np.array([0.0, 1.0, 0.0]) if abs(n[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(helper, n)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    rel = box.corners() - p
    depth = rel @ n  # > 0 for every corner (closest-point separating plane)
    plane = np.stack([rel @ e1 / depth, rel @ e2 / depth], axis=1)
    hull = _hull_2d(plane)
    verts = rel[hull]
    verts = verts / np.linalg.norm(verts, axis=1, keepdims=True)
    return verts @ rot  # world → camera frame (row vectors: v_cam = Rᵀ v_world)


def to_lonlat(verts: np.ndarray) -> list[list[float]]:
    """Unit vectors (k, 3) → [[lon, lat], ...] degrees, lon in [-180, 180)."""
    lon = np.degrees(np.arctan2(verts[:, 0], verts[:, 2]))
    lat = np.degrees(np.arctan2(verts[:, 1], np.hypot(verts[:, 0], verts[:, 2])))
    lon = np.where(lon >= 180.0, lon - 360.0, lon)
    # Vertical box edges seen from a level camera are exactly meridians, but their endpoints'
    # longitudes come out a few ulps apart; snap such neighbours to one value (a < 1e-9°
    # change) so consumers see a clean meridian edge instead of an ill-conditioned one.
    for i in range(1, len(lon)):
        if abs(lon[i] - lon[i - 1]) < LON_SNAP_DEG:
            lon[i] = lon[i - 1]
    if len(lon) > 1 and abs(lon[0] - lon[-1]) < LON_SNAP_DEG:
        lon[0] = lon[-1]
    return [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]


def clip(poly: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Part of a convex spherical polygon with normal·x ≥ 0 (Sutherland–Hodgman on cones).

    Works on the cone over the polygon: the minor arc between a and b is the projection of the
    chord a→b, so the crossing of the arc with the plane is found on the chord exactly.
    """
    if len(poly) == 0:
        return poly
    s = poly @ normal
    if np.all(s >= 0):
        return poly
    if np.all(s <= 0):
        return poly[:0]
    out = []
    k = len(poly)
    for i in range(k):
        a, b = poly[i], poly[(i + 1) % k]
        sa, sb = s[i], s[(i + 1) % k]
        if sa >= 0:
            out.append(a)
        if (sa >= 0) != (sb >= 0):
            x = a + (sa / (sa - sb)) * (b - a)
            out.append(x / np.linalg.norm(x))
    return _clean(np.array(out)) if out else poly[:0]


def _clean(poly: np.ndarray) -> np.ndarray:
    """Merge (near-)duplicate consecutive vertices; returns an empty array if < 3 remain."""
    eps2 = MIN_VERTEX_SEPARATION**2
    keep: list[tuple[float, float, float]] = []
    for v in poly.tolist():  # plain floats: these rings are tiny, numpy overhead dominates
        if not keep or sum((p - q) ** 2 for p, q in zip(keep[-1], v, strict=True)) > eps2:
            keep.append(tuple(v))
    while (
        len(keep) > 1 and sum((p - q) ** 2 for p, q in zip(keep[-1], keep[0], strict=True)) <= eps2
    ):
        keep.pop()
    if len(keep) < 3:
        return poly[:0]
    return np.array(keep)


def convex_area(poly: np.ndarray) -> float:
    """Solid angle of a convex spherical polygon (unit vertices) by a triangle fan."""
    if len(poly) < 3:
        return 0.0
    a = poly[0]
    total = 0.0
    for b, c in zip(poly[1:-1], poly[2:], strict=True):
        num = abs(float(np.dot(a, _cross(b, c))))
        den = 1.0 + float(a @ b + b @ c + c @ a)
        total += 2.0 * math.atan2(num, den)  # Van Oosterom–Strackee
    return total


def edge_normals(poly: np.ndarray) -> np.ndarray:
    """Inward edge-plane normals (k, 3): interior directions x have normal·x ≥ 0."""
    return _cross(poly, np.roll(poly, -1, axis=0))


def intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    for m in edge_normals(b):
        a = clip(a, m)
        if len(a) == 0:
            break
    return a


def subtract(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """a \\ b for convex polygons, as disjoint convex pieces (outside edge 1, then inside edge 1
    but outside edge 2, ...)."""
    pieces = []
    rest = a
    for m in edge_normals(b):
        out = clip(rest, -m)
        if len(out) and convex_area(out) > MIN_PART_AREA:
            pieces.append(out)
        rest = clip(rest, m)
        if len(rest) == 0:
            break
    return pieces


def lonlat_bounds(poly: np.ndarray) -> tuple[float, float, tuple[float, float] | None]:
    """(lat_lo, lat_hi, (lon_lo, lon_hi) or None for all longitudes) of a convex polygon.

    Latitude extremes are at vertices or at an edge's highest/lowest point when that lies on
    the arc; longitude is monotone along a minor arc, so its range follows from the vertices
    unless the polygon contains a pole (then every longitude is covered). lon_lo may be
    < −180 or lon_hi ≥ 180 (the interval is unwrapped).
    """
    m = edge_normals(poly)
    lat_hi = float(np.max(np.degrees(np.arcsin(np.clip(poly[:, 1], -1.0, 1.0)))))
    lat_lo = float(np.min(np.degrees(np.arcsin(np.clip(poly[:, 1], -1.0, 1.0)))))
    north = np.array([0.0, 1.0, 0.0])
    k = len(poly)
    for i in range(k):
        a, b, mi = poly[i], poly[(i + 1) % k], m[i]
        mh = mi / np.linalg.norm(mi)
        top = north - mh[1] * mh
        nt = np.linalg.norm(top)
        if nt < 1e-15:
            continue
        top /= nt
        for cand in (top, -top):
            if np.dot(_cross(a, cand), mi) >= 0 and np.dot(_cross(cand, b), mi) >= 0:
                lat = math.degrees(math.asin(max(-1.0, min(1.0, float(cand[1])))))
                lat_hi, lat_lo = max(lat_hi, lat), min(lat_lo, lat)
    if np.all(m[:, 1] >= 0):
        return lat_lo, 90.0, None
    if np.all(m[:, 1] <= 0):
        return -90.0, lat_hi, None
    lon = np.degrees(np.arctan2(poly[:, 0], poly[:, 2]))
    cur = lo = hi = float(lon[0])
    for i in range(1, k + 1):
        d = float(lon[i % k] - lon[i - 1])
        d = (d + 180.0) % 360.0 - 180.0
        if abs(abs(d) - 180.0) < 1e-6:
            return lat_lo, lat_hi, None  # an edge passes (almost) through a pole
        cur += d
        lo, hi = min(lo, cur), max(hi, cur)
    if abs(cur - lon[0]) > 1e-6 or hi - lo >= 360.0:
        return lat_lo, lat_hi, None
    return lat_lo, lat_hi, (lo, hi)


def _maybe_overlapping(sils: list[np.ndarray]) -> np.ndarray:
    """(n, n) bool: False where two convex polygons are certainly disjoint.

    Vectorised separating-plane prefilter: polygons are disjoint if all vertices of one lie
    strictly outside one edge plane of the other. Pairs that pass go to exact clipping.
    """
    n = len(sils)
    if n == 0:
        return np.zeros((0, 0), bool)
    k = max(len(s) for s in sils)
    verts = np.stack([np.concatenate([s, np.repeat(s[-1:], k - len(s), 0)]) for s in sils])
    normals = np.stack(
        [
            np.concatenate([edge_normals(s), np.repeat(edge_normals(s)[-1:], k - len(s), 0)])
            for s in sils
        ]
    )
    # side[i, j, e, v] = normal e of polygon i · vertex v of polygon j
    side = np.einsum("iec,jvc->ijev", normals, verts)
    sep = np.any(np.all(side < 0, axis=3), axis=2)
    return ~(sep | sep.T)


def instance_geometry(
    scene_boxes: list[Box], camera: Camera, sils: list[np.ndarray] | None = None
) -> list[dict[str, Any]]:
    """Exact visible and amodal polygons of every box, with occlusion relations and areas.

    Returns one dict per box (scene order): id, class, amodal_geometry, geometry (visible,
    disjoint convex parts), occluded_by (ids of nearer overlapping boxes), areas (sr).
    """
    rot = camera.rotation()
    origin = np.asarray(camera.position, float)
    if sils is None:
        sils = [silhouette(b, camera) for b in scene_boxes]
    maybe = _maybe_overlapping(sils)
    occluders: list[list[int]] = [[] for _ in scene_boxes]
    n = len(scene_boxes)
    for i in range(n):
        for j in range(i + 1, n):
            if not maybe[i, j]:
                continue
            common = intersect(sils[i], sils[j])
            if len(common) == 0 or convex_area(common) <= MIN_PART_AREA:
                continue
            m = common.sum(axis=0)
            d_world = (rot @ (m / np.linalg.norm(m)))[None, :]
            ti = box_entry(scene_boxes[i], origin, d_world)[0][0]
            tj = box_entry(scene_boxes[j], origin, d_world)[0][0]
            if ti < tj:
                occluders[j].append(i)
            else:
                occluders[i].append(j)
    result = []
    for i, box in enumerate(scene_boxes):
        parts = [sils[i]]
        for k in occluders[i]:
            new_parts: list[np.ndarray] = []
            for part in parts:
                new_parts.extend(subtract(part, sils[k]))
            parts = new_parts
        amodal_area = convex_area(sils[i])
        area = sum(convex_area(p) for p in parts)
        result.append(
            {
                "id": box.id,
                "class": box.cls,
                "amodal_geometry": [[to_lonlat(sils[i])]],
                "geometry": [[to_lonlat(p)] for p in parts],
                "occluded_by": sorted(scene_boxes[k].id for k in occluders[i]),
                "amodal_area_sr": amodal_area,
                "area_sr": area,
            }
        )
    return result
