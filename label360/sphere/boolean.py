"""Boolean operations and IoU on the sphere (exact for great-circle edges).

Method: gnomonic projection maps great circles to straight lines, so when all inputs lie in
the open hemisphere around a centre c (every vertex has v . c >= MIN_COS; then every minor arc
does too), projecting onto the plane tangent at c turns the spherical problem into a planar
one without approximation.  Shapely computes the planar result; its vertices are mapped back
to the sphere (the straight edges become great-circle arcs, so the result is an exact spherical
polygon) and areas are measured on the sphere.

When the inputs do not fit one hemisphere, everything is split by the six cube faces (clipping
each ring to each face's 90-degree frustum is exact, see clipping.py), the operation is done per
face in that face's gnomonic plane, and the per-face pieces (disjoint) are collected.  Results
of that path are split along cube-face edges.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
import shapely.errors
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon

from .clipping import clip_ring_halfspaces, frustum_planes
from .polygons import as_geometry, polygon_area, ring_vectors, validate_geometry
from .vectors import vec_to_lonlat
from .views import cube_face_views

__all__ = ["union", "intersection", "difference", "iou"]

#: Minimum cos(angle) between any vertex and the projection centre (about 84 degrees).
MIN_COS = 0.1


def _basis(c: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rows e1, e2, c: an orthonormal frame with c third."""
    c = c / np.linalg.norm(c)
    t = np.array([0.0, 1.0, 0.0]) if abs(c[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(t, c)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(c, e1)
    return np.stack([e1, e2, c])


def _project(v: NDArray[np.float64], frame: NDArray[np.float64]) -> NDArray[np.float64]:
    p = v @ frame.T
    return p[:, :2] / p[:, 2:3]


def _unproject(xy: NDArray[np.float64], frame: NDArray[np.float64]) -> NDArray[np.float64]:
    v = xy[:, 0:1] * frame[0] + xy[:, 1:2] * frame[1] + frame[2]
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _dedupe_xy(xy: NDArray[np.float64], eps: float = 1e-12) -> NDArray[np.float64]:
    """Drop consecutive (cyclic) duplicates, e.g. a vertex on a clip plane emitted twice."""
    if len(xy) == 0:
        return xy
    nxt = np.roll(xy, -1, axis=0)
    keep = np.linalg.norm(xy - nxt, axis=1) > eps * (1.0 + np.abs(xy).max())
    return xy[keep]


def _to_shapely(rings_v: list[list[NDArray]], frame: NDArray) -> shapely.Geometry:
    polys = []
    for rings in rings_v:
        shell = _dedupe_xy(_project(rings[0], frame))
        if len(shell) < 3:
            continue
        holes = [h for h in (_dedupe_xy(_project(r, frame)) for r in rings[1:]) if len(h) >= 3]
        p = Polygon(shell, holes)
        if not p.is_valid:
            p = shapely.make_valid(p)
        polys.append(p)
    return _polygonal(shapely.unary_union(polys)) if polys else Polygon()


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygonal parts (make_valid/overlay can add lines or points); an empty
    result is a typed empty Polygon so GEOS overlays know its dimension."""
    parts = [p for p in shapely.get_parts(g) if isinstance(p, Polygon) and not p.is_empty]
    multi = [q for p in shapely.get_parts(g) if isinstance(p, MultiPolygon) for q in p.geoms]
    parts += multi
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def _from_shapely(geom: shapely.Geometry, frame: NDArray) -> list[list[NDArray[np.float64]]]:
    """Shapely (multi)polygon -> list of polygons of unit-vector rings.

    Zero-width slivers and spikes along a clip plane (Sutherland-Hodgman bridges that floating
    point left a hair wide) are collapsed by snapping to a grid of 1e-11 of the coordinate
    scale (a relative vertex change of at most ~1e-11).
    """
    out = []
    if not geom.is_empty:
        scale = max(1.0, max(map(abs, geom.bounds)))
        geom = _polygonal(shapely.set_precision(geom, 1e-11 * scale))
    for p in getattr(geom, "geoms", [geom]):
        if not isinstance(p, Polygon | MultiPolygon):
            continue
        if isinstance(p, MultiPolygon):
            out += _from_shapely(p, frame)
            continue
        if p.is_empty or p.area <= 0:
            continue
        rings = [np.asarray(p.exterior.coords)[:-1]] + [
            np.asarray(r.coords)[:-1] for r in p.interiors
        ]
        vrings = [_dedupe_vec(_unproject(r, frame)) for r in rings]
        vrings = [r for r in vrings if len(r) >= 3]
        if vrings and len(vrings[0]) >= 3:
            out.append(vrings)
    return out


def _dedupe_vec(v: NDArray[np.float64], eps: float = 1e-9) -> NDArray[np.float64]:
    """Merge consecutive vertices closer than eps radians (planar results can carry them)."""
    while len(v) >= 3:
        d = np.linalg.norm(v - np.roll(v, -1, axis=0), axis=1)
        bad = np.nonzero(d < eps)[0]
        if bad.size == 0:
            break
        v = np.delete(v, bad[0], axis=0)
    return v


def _safe_op(
    op: Callable[[list[shapely.Geometry]], shapely.Geometry], geoms: list[shapely.Geometry]
) -> shapely.Geometry:
    """Run a shapely op; on a GEOS robustness failure retry on a fine precision grid."""
    if all(g.is_empty for g in geoms):
        return Polygon()
    try:
        return op(geoms)
    except shapely.errors.GEOSException:
        scale = max([1.0] + [max(map(abs, g.bounds)) for g in geoms if not g.is_empty])
        return op([shapely.set_precision(g, 1e-12 * scale) for g in geoms])


def _vec_geom_to_lonlat(polys: list[list[NDArray]]) -> list[list[list[list[float]]]]:
    res = []
    for rings in polys:
        part = []
        for v in rings:
            lon, lat = vec_to_lonlat(v)
            part.append(np.stack([lon, lat], axis=1).tolist())
        res.append(part)
    return res


def _vec_area(polys: list[list[NDArray]]) -> float:
    total = 0.0
    for rings in polys:
        lonlat = []
        for v in rings:
            lon, lat = vec_to_lonlat(v)
            lonlat.append(np.stack([lon, lat], axis=1))
        total += polygon_area(lonlat)
    return total


def _apply(
    geoms: list[Any], op: Callable[[list[shapely.Geometry]], shapely.Geometry]
) -> list[list[NDArray[np.float64]]]:
    """Run a planar op on geometries (as unit-vector polygons); result as unit-vector polygons."""
    gv = [[[ring_vectors(r) for r in part] for part in validate_geometry(g)] for g in geoms]
    rings = [r for g in gv for part in g for r in part]
    if not rings:
        return []
    allv = np.concatenate(rings)
    c = allv.sum(axis=0)
    if np.linalg.norm(c) > 1e-9:
        c = c / np.linalg.norm(c)
        if np.min(allv @ c) >= MIN_COS:
            frame = _basis(c)
            return _from_shapely(_safe_op(op, [_to_shapely(g, frame) for g in gv]), frame)
    # Fallback: per cube face (90-degree frusta), exact clipping then planar op.
    out = []
    for view in cube_face_views(2, 90.0):
        rot = view.rotation()
        frame = rot.T  # rows: camera x, y, z axes in world coordinates
        planes = [rot @ n for n in frustum_planes(view)]  # camera-frame normals -> world
        clipped_geoms = []
        for g in gv:
            parts = []
            for part in g:
                rings = [clip_ring_halfspaces(r, planes) for r in part]
                if len(rings[0]) >= 3:
                    parts.append([rings[0]] + [h for h in rings[1:] if len(h) >= 3])
            clipped_geoms.append(parts)
        out += _from_shapely(_safe_op(op, [_to_shapely(g, frame) for g in clipped_geoms]), frame)
    return out


def union(geometries: list[Any]) -> list[list[list[list[float]]]]:
    """Union of geometries, as a geometry (list of polygons)."""
    return _vec_geom_to_lonlat(_apply(list(geometries), shapely.unary_union))


def intersection(a: Any, b: Any) -> list[list[list[list[float]]]]:
    """Intersection of two geometries, as a geometry (possibly empty list)."""
    return _vec_geom_to_lonlat(_apply([a, b], lambda g: shapely.intersection(g[0], g[1])))


def difference(a: Any, b: Any) -> list[list[list[list[float]]]]:
    """a minus b, as a geometry."""
    return _vec_geom_to_lonlat(_apply([a, b], lambda g: shapely.difference(g[0], g[1])))


def _key(g: Any) -> bytes:
    return b"|".join(r.tobytes() for part in as_geometry(g) for r in part)


def iou(a: Any, b: Any) -> float:
    """Intersection over union of two geometries, areas measured on the sphere.

    Symmetric bit-for-bit (inputs are put in a canonical order first); 1.0 for identical inputs.
    """
    ka, kb = _key(a), _key(b)
    if ka == kb:
        validate_geometry(a)
        return 1.0
    if kb < ka:
        a, b = b, a
    inter = _vec_area(_apply([a, b], lambda g: shapely.intersection(g[0], g[1])))
    uni = _vec_area(_apply([a, b], lambda g: shapely.union(g[0], g[1])))
    if uni <= 0:
        return 0.0
    return float(min(1.0, max(0.0, inter / uni)))
