"""Spherical polygons: normalisation, validation, area, centroid, point-in-polygon.

A *geometry* is ``[[outer, hole, ...], ...]`` (list of polygons), a ring ``[[lon, lat], ...]``
with great-circle (minor arc) edges; the interior of a ring is the smaller region it bounds.
Functions accept a bare ring or a single polygon too (see :func:`as_geometry`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import kernels
from .sweep import SIDE_EPS, first_meeting
from .vectors import cross3, lonlat_to_vec, vec_to_lonlat

__all__ = [
    "GeometryError",
    "Problem",
    "as_geometry",
    "geometry_problems",
    "validate_geometry",
    "ring_signed_area",
    "ring_vectors",
    "oriented_ring",
    "area",
    "polygon_area",
    "centroid",
    "contains",
    "arcs_cross",
]

#: Vertices closer than this (radians) count as duplicates.
DUPLICATE_EPS = 1e-10
#: Edges within this (radians) of 180 degrees count as antipodal.
ANTIPODAL_EPS = 1e-9
#: Limits that bound validation (and everything after it) whatever the input: vertices of one
#: ring, vertices and rings of one geometry.
MAX_RING_VERTICES = 20_000
MAX_GEOMETRY_VERTICES = 100_000
MAX_RINGS = 1_000
#: At most this many problems of one kind are listed per ring or polygon.
MAX_REPORTED = 20


class GeometryError(ValueError):
    """Invalid geometry.  Attributes: part, ring, vertex (or None), reason."""

    def __init__(self, reason: str, part: int = 0, ring: int = 0, vertex: int | None = None):
        self.part, self.ring, self.vertex, self.reason = part, ring, vertex, reason
        where = f"part {part}, ring {ring}" + ("" if vertex is None else f", vertex {vertex}")
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Problem:
    """One validation problem (same fields as GeometryError)."""

    part: int
    ring: int
    vertex: int | None
    reason: str

    def error(self) -> GeometryError:
        return GeometryError(self.reason, self.part, self.ring, self.vertex)


def _depth(x: Any) -> int:
    d = 0
    while isinstance(x, list | tuple | np.ndarray) and len(x) > 0:
        x = x[0]
        d += 1
    return d


def as_geometry(g: Any) -> list[list[NDArray[np.float64]]]:
    """Normalise a ring (depth 2), polygon (depth 3) or geometry (depth 4) to a list of
    polygons, each a list of (n, 2) float64 arrays.  No validation."""
    if isinstance(g, list | tuple) and len(g) == 0:
        return []  # the empty geometry (e.g. an empty intersection) is valid
    d = _depth(g)
    if d == 2:
        g = [[g]]
    elif d == 3:
        g = [g]
    elif d != 4:
        raise GeometryError("geometry must nest as [[outer, hole, ...], ...] of [lon, lat] pairs")
    out = []
    for part in g:
        rings = []
        for ring in part:
            arr = np.asarray(ring, dtype=np.float64)
            if arr.ndim != 2 or arr.shape[1] != 2:
                raise GeometryError("a ring must be a list of [lon, lat] pairs")
            rings.append(arr)
        out.append(rings)
    return out


def ring_vectors(ring: NDArray[np.float64]) -> NDArray[np.float64]:
    return lonlat_to_vec(ring[:, 0], ring[:, 1])


def arc_normals(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """2 (a x b) computed as (a + b) x (b - a): full relative precision for short arcs
    (the difference b - a is nearly exact, whereas a x b of nearly parallel unit vectors
    loses all digits below 1e-16 absolute)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return cross3(a + b, b - a)


def point_arc_distance(p: NDArray, a: NDArray, b: NDArray) -> NDArray[np.float64]:
    """Angular distance (radians, broadcasting over (..., 3)) from points p to minor arcs a-b:
    the distance to the great circle where p projects inside the arc, else to the nearer end."""
    n = arc_normals(a, b)
    nn = np.linalg.norm(n, axis=-1)
    n = n / np.where(nn > 0, nn, 1.0)[..., None]
    s = np.sum(n * p, axis=-1)
    inside = (np.sum(cross3(a, p) * n, axis=-1) >= 0) & (np.sum(cross3(p, b) * n, axis=-1) >= 0)
    da = 2 * np.arcsin(np.clip(0.5 * np.linalg.norm(p - a, axis=-1), 0, 1))
    db = 2 * np.arcsin(np.clip(0.5 * np.linalg.norm(p - b, axis=-1), 0, 1))
    return np.where(inside, np.abs(np.arcsin(np.clip(s, -1, 1))), np.minimum(da, db))


def arcs_cross(a: NDArray, b: NDArray, c: NDArray, d: NDArray) -> NDArray[np.bool_]:
    """Do minor arcs a-b and c-d cross at an interior point?  (broadcasting, (..., 3) arrays)

    Strict test: each arc's endpoints lie strictly on opposite sides of the other's great
    circle, and the two crossing points are the same one of the antipodal pair (a point of a
    minor arc has a positive dot product with the arc's chord midpoint a + b).  An endpoint
    within ``SIDE_EPS`` (sine of the angle) of the other great circle is on it, not on a
    side: arcs on one great circle never cross (they may overlap, which is a touch).
    """
    n1 = arc_normals(a, b)
    n2 = arc_normals(c, d)
    t1 = SIDE_EPS * np.linalg.norm(n1, axis=-1)
    t2 = SIDE_EPS * np.linalg.norm(n2, axis=-1)
    c1, d1 = np.sum(n1 * c, axis=-1), np.sum(n1 * d, axis=-1)
    a2, b2 = np.sum(n2 * a, axis=-1), np.sum(n2 * b, axis=-1)
    clear = (np.abs(c1) > t1) & (np.abs(d1) > t1) & (np.abs(a2) > t2) & (np.abs(b2) > t2)
    p = cross3(n1, n2)
    same = np.sum(p * (a + b), axis=-1) * np.sum(p * (c + d), axis=-1)
    return clear & (c1 * d1 < 0) & (a2 * b2 < 0) & (same > 0)


def ring_signed_area(v: NDArray[np.float64]) -> float:
    """Signed area (sr) in (-2pi, 2pi] of a closed ring of unit vectors v (n, 3).

    Positive when the smaller region is on the left (counter-clockwise seen from outside).
    Sum of Van Oosterom-Strackee triangle solid angles about a centre c (the normalised
    vertex sum; the vector area when the vertices nearly balance, a ring near a great
    circle); the triple product is formed from differences (a - c), (b - c) so tiny polygons
    keep full relative precision. The loop is compiled (:mod:`label360.sphere.kernels`).
    """
    return float(kernels.ring_signed_area(np.ascontiguousarray(v, dtype=np.float64)))


def oriented_ring(v: NDArray[np.float64]) -> NDArray[np.float64]:
    """The ring's vectors ordered counter-clockwise around its (smaller) interior."""
    return v if ring_signed_area(v) >= 0 else v[::-1].copy()


def _angle(a: NDArray, b: NDArray) -> float:
    return float(2 * np.arcsin(min(1.0, 0.5 * float(np.linalg.norm(a - b)))))


def _unit_normal(a: NDArray, b: NDArray) -> NDArray:
    n = arc_normals(a, b)
    return n / np.linalg.norm(n)


def _meeting(
    v: NDArray, nxt: NDArray, ring_of: NDArray, local: NDArray, i: int, j: int
) -> tuple[int, int | None, str]:
    """(ring, vertex, reason) for arcs i and j (global indices, ring_of[i] <= ring_of[j]) that
    the sweep found meeting: the problem is the later ring's (or the ring's own)."""
    ri, rj = int(ring_of[i]), int(ring_of[j])
    ni, nj = int(nxt[i]), int(nxt[j])
    li, lj = int(local[i]), int(local[j])
    lni, lnj = int(local[ni]), int(local[nj])
    crossing = bool(arcs_cross(v[i], v[ni], v[j], v[nj]))
    if ri != rj:
        other = "the outer ring" if ri == 0 else f"hole {ri}"
        if crossing:
            return rj, lj, f"hole crosses {other}: edge {lj}->{lnj} crosses edge {li}->{lni}"
        for k in (j, nj):
            if point_arc_distance(v[k], v[i], v[ni]) < DUPLICATE_EPS:
                lk = int(local[k])
                return rj, lk, f"hole touches {other}: vertex {lk} lies on edge {li}->{lni}"
        k = i if point_arc_distance(v[i], v[j], v[nj]) < DUPLICATE_EPS else ni
        return (
            rj,
            lj,
            (f"hole touches {other}: edge {lj}->{lnj} passes through its vertex {int(local[k])}"),
        )
    if crossing:
        a, b = sorted(((li, lni), (lj, lnj)))
        return ri, a[0], f"ring crosses itself: edge {a[0]}->{a[1]} crosses edge {b[0]}->{b[1]}"
    for p, q in ((i, j), (i, nj), (ni, j), (ni, nj)):
        if _angle(v[p], v[q]) < DUPLICATE_EPS:
            lp, lq = sorted((int(local[p]), int(local[q])))
            return ri, lp, f"ring touches itself: vertex {lp} repeats vertex {lq}"
    # a vertex of one arc on the other; overlapping collinear edges when an edge at that
    # vertex runs along the touched edge's great circle
    for k, (e, ne) in ((j, (i, ni)), (nj, (i, ni)), (i, (j, nj)), (ni, (j, nj))):
        if point_arc_distance(v[k], v[e], v[ne]) >= DUPLICATE_EPS:
            continue
        lk, le, lne = int(local[k]), int(local[e]), int(local[ne])
        nrm = _unit_normal(v[e], v[ne])
        prev = int(np.nonzero(nxt == k)[0][0])
        for other in (prev, int(nxt[k])):
            if abs(float(nrm @ v[other])) < DUPLICATE_EPS:
                a, b = sorted((k, other))
                if nxt[a] != b:
                    a, b = b, a
                la, lb = int(local[a]), int(local[b])
                return (
                    ri,
                    lk,
                    (f"edges {la}->{lb} and {le}->{lne} overlap along the same great circle"),
                )
        return ri, lk, f"ring touches itself: vertex {lk} lies on edge {le}->{lne}"
    return ri, li, f"ring touches itself: edges {li}->{lni} and {lj}->{lnj} meet"


def _ring_first_meeting(v: NDArray) -> tuple[int, str] | None:
    """(vertex, reason) of the first place where a ring crosses or touches itself."""
    n = len(v)
    if n < 4:
        return None
    nxt = (np.arange(n) + 1) % n
    pair = first_meeting(v, nxt, DUPLICATE_EPS)
    if pair is None:
        return None
    zeros = np.zeros(n, dtype=np.int64)
    _, vertex, reason = _meeting(v, nxt, zeros, np.arange(n), *pair)
    return (0 if vertex is None else vertex), reason


def corner_problems(
    v: NDArray[np.float64], idx: NDArray[np.int64], pi: int = 0, ri: int = 0
) -> tuple[list[Problem], list[Problem]]:
    """The local tests of a ring's vertices ``idx`` (unit vectors ``v`` of the whole ring):
    (edge problems — edge k -> k+1 degenerate or antipodal —, zero-width spikes at k).

    Validation runs them on every vertex; a repair that drops one vertex re-runs them only on
    the two corners next to it, the only ones whose arcs changed."""
    n = len(v)
    idx = np.asarray(idx, dtype=np.int64) % n
    a, w, prev = v[idx], v[(idx + 1) % n], v[(idx - 1) % n]
    ang = np.arctan2(np.linalg.norm(cross3(a, w), axis=1), np.einsum("ij,ij->i", a, w))
    edges: list[Problem] = []
    for k in idx[ang < DUPLICATE_EPS][:MAX_REPORTED]:
        edges.append(Problem(pi, ri, int(k), f"vertex duplicates its neighbour {(k + 1) % n}"))
    for k in idx[ang > math.pi - ANTIPODAL_EPS][:MAX_REPORTED]:
        reason = f"edge {k}->{(k + 1) % n} is antipodal (>= 180 degrees): its arc is undefined"
        edges.append(Problem(pi, ri, int(k), reason))
    # zero-width spikes: the ring turns back along its previous edge at vertex k
    ta = prev - np.einsum("ij,ij->i", prev, a)[:, None] * a
    tc = w - np.einsum("ij,ij->i", w, a)[:, None] * a
    sin_t = np.abs(np.einsum("ij,ij->i", cross3(ta, tc), a))
    norms = np.linalg.norm(ta, axis=1) * np.linalg.norm(tc, axis=1)
    spike = (sin_t <= 1e-12 * norms) & (np.einsum("ij,ij->i", ta, tc) > 0)
    spikes = [
        Problem(pi, ri, int(k), "ring folds back on itself (zero-width spike)")
        for k in idx[spike][:MAX_REPORTED]
    ]
    return edges, spikes


def _ring_problems(ring: NDArray, pi: int, ri: int) -> list[Problem]:
    probs: list[Problem] = []

    def add(reason: str, vertex: int | None = None) -> None:
        probs.append(Problem(pi, ri, vertex, reason))

    n = len(ring)
    if n < 3:
        add(f"ring has {n} vertices, needs at least 3")
        return probs
    if n > MAX_RING_VERTICES:
        add(f"ring has {n} vertices; at most {MAX_RING_VERTICES} are allowed")
        return probs
    bad = ~np.isfinite(ring).all(axis=1)
    for k in np.nonzero(bad)[0][:MAX_REPORTED]:
        add("vertex is NaN or infinite", int(k))
    if bad.any():
        return probs
    for k in np.nonzero((ring[:, 0] < -180) | (ring[:, 0] > 180))[0][:MAX_REPORTED]:
        add(f"longitude {ring[k, 0]} out of range [-180, 180]", int(k))
    for k in np.nonzero((ring[:, 1] < -90) | (ring[:, 1] > 90))[0][:MAX_REPORTED]:
        add(f"latitude {ring[k, 1]} out of range [-90, 90]", int(k))
    if probs:
        return probs
    v = ring_vectors(ring)
    edge_probs, spike_probs = corner_problems(v, np.arange(n), pi, ri)
    if edge_probs:
        return edge_probs
    if spike_probs:
        return spike_probs
    meet = _ring_first_meeting(v)
    if meet is not None:
        add(meet[1], meet[0])
        return probs
    s = ring_signed_area(v)
    if abs(s) > 2 * math.pi - 1e-9:
        add("ring splits the sphere into halves (area >= hemisphere); store as several parts")
    return probs


def geometry_problems(geometry: Any) -> list[Problem]:
    """All problems found in `geometry` (empty list when valid).

    Bounded whatever the input: a geometry over the vertex or ring limits is refused before
    any other test, each ring is checked for crossing or touching itself by a sweep
    (O(n log n), :mod:`label360.sphere.sweep`), and at most ``MAX_REPORTED`` problems of one
    kind are listed per ring or polygon.
    """
    try:
        g = as_geometry(geometry)
    except GeometryError as e:
        return [Problem(e.part, e.ring, e.vertex, e.reason)]
    rings = sum(len(part) for part in g)
    if rings > MAX_RINGS:
        return [Problem(0, 0, None, f"geometry has {rings} rings; at most {MAX_RINGS}")]
    total = sum(len(r) for part in g for r in part)
    if total > MAX_GEOMETRY_VERTICES:
        return [
            Problem(
                0,
                0,
                None,
                f"geometry has {total} vertices; at most {MAX_GEOMETRY_VERTICES} are allowed",
            )
        ]
    from .kernels import ring_clearly_valid

    probs: list[Problem] = []
    for pi, part in enumerate(g):
        if not part:
            probs.append(Problem(pi, 0, None, "polygon has no rings"))
            continue
        if len(part) == 1 and ring_clearly_valid(part[0]):
            continue  # the compiled pre-check is certain that the tests below find nothing
        ring_probs = [_ring_problems(r, pi, ri) for ri, r in enumerate(part)]
        for rp in ring_probs:
            probs.extend(rp)
        if ring_probs[0] or len(part) == 1:
            continue
        probs.extend(_hole_problems(part, ring_probs, pi))
    return probs


def _bounding_cap(v: NDArray) -> tuple[NDArray, float]:
    """(centre, radius) of a cap holding the ring's vertices and so (radius < 90 degrees) its
    arcs; radius pi when the vertices do not fit well inside a hemisphere."""
    c = v.sum(axis=0)
    nc = np.linalg.norm(c)
    if nc < 1e-9:
        return np.array([0.0, 0.0, 1.0]), math.pi
    c = c / nc
    r = float(np.arccos(np.clip((v @ c).min(), -1.0, 1.0)))
    return c, (r if r < 0.49 * math.pi else math.pi)


def _hole_problems(part: list, ring_probs: list, pi: int) -> list[Problem]:
    """Holes must lie strictly inside the outer ring and strictly outside each other (no
    crossing, no touching at a point, no nesting).  Meetings between rings come from one sweep
    over the outer ring and the valid holes; a hole found meeting another ring is reported and
    left out, and the sweep runs again (at most ``MAX_REPORTED`` times)."""
    probs: list[Problem] = []
    vecs = {ri: ring_vectors(r) for ri, r in enumerate(part) if not ring_probs[ri]}
    active = sorted(vecs)
    while len(active) > 1 and len(probs) < MAX_REPORTED:
        v = np.concatenate([vecs[r] for r in active])
        sizes = np.array([len(vecs[r]) for r in active])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        ring_of = np.repeat(np.arange(len(active)), sizes)
        local = np.arange(len(v)) - np.repeat(starts, sizes)
        nxt = np.arange(len(v)) + 1
        nxt[starts + sizes - 1] = starts
        pair = first_meeting(v, nxt, DUPLICATE_EPS)
        if pair is None:
            break
        names = np.asarray(active)
        r, vertex, reason = _meeting(v, nxt, names[ring_of], local, *pair)
        probs.append(Problem(pi, r, vertex, reason))
        active.remove(r)
    if len(probs) >= MAX_REPORTED:
        return probs
    outer = oriented_ring(vecs[0])
    holes = []
    for ri in active[1:]:
        if _contains_ring(outer, vecs[ri][:1])[0]:  # no meeting: one vertex decides
            holes.append(ri)
        else:
            probs.append(Problem(pi, ri, 0, "hole vertex lies outside the outer ring"))
    if len(holes) < 2:
        return probs
    # nesting: only holes whose bounding caps meet can hold one another
    oriented = [oriented_ring(vecs[ri]) for ri in holes]
    caps = [_bounding_cap(hv) for hv in oriented]
    centres = np.array([c for c, _ in caps])
    radii = np.array([r for _, r in caps])
    near = np.arccos(np.clip(centres @ centres.T, -1.0, 1.0)) <= radii[:, None] + radii[None, :]
    good = np.zeros(len(holes), dtype=bool)
    for k, ri in enumerate(holes):
        hv = oriented[k]
        meet = None
        for m in np.nonzero(near[k, :k] & good[:k])[0]:
            other = oriented[m]
            if _contains_ring(other, hv[:1])[0]:
                meet = (0, f"hole lies inside hole {holes[m]}")
            elif _contains_ring(hv, other[:1])[0]:
                meet = (None, f"hole contains hole {holes[m]}")
            if meet is not None:
                break
        if meet is None:
            good[k] = True
            continue
        probs.append(Problem(pi, ri, meet[0], meet[1]))
        if len(probs) >= MAX_REPORTED:
            break
    return probs


def validate_geometry(geometry: Any) -> list[list[NDArray[np.float64]]]:
    """Raise GeometryError for the first problem; return the normalised geometry otherwise."""
    probs = geometry_problems(geometry)
    if probs:
        raise probs[0].error()
    return as_geometry(geometry)


def polygon_area(polygon: Sequence[NDArray[np.float64]]) -> float:
    """Area (sr) of one polygon: outer minus holes."""
    total = abs(ring_signed_area(ring_vectors(polygon[0])))
    for hole in polygon[1:]:
        total -= abs(ring_signed_area(ring_vectors(hole)))
    return total


def area(geometry: Any) -> float:
    """Area in steradians of the region the geometry covers.

    Parts of one geometry may overlap (the region is their union, as the rasteriser draws
    it): when the bounding caps of two parts meet, the area is that of their union
    (:func:`label360.sphere.boolean.union`), so overlaps are not counted twice."""
    g = validate_geometry(geometry)
    if _parts_may_overlap(g):
        from .boolean import union

        return float(sum(polygon_area(p) for p in as_geometry(union([g]))))
    return float(sum(polygon_area(p) for p in g))


def _parts_may_overlap(g: list[list[NDArray[np.float64]]]) -> bool:
    """Could two parts share area?  False when their outer rings' bounding caps are apart."""
    if len(g) < 2:
        return False
    caps = [_bounding_cap(ring_vectors(part[0])) for part in g]
    centres = np.array([c for c, _ in caps])
    radii = np.array([r for _, r in caps])
    gap = np.arccos(np.clip(centres @ centres.T, -1.0, 1.0)) - radii[:, None] - radii[None, :]
    np.fill_diagonal(gap, 1.0)
    return bool((gap <= 0).any())


def _ring_moment(v: NDArray[np.float64]) -> NDArray[np.float64]:
    """Integral of the position vector over the ring's interior: 1/2 sum theta_e * n_e."""
    v = oriented_ring(v)
    w = np.roll(v, -1, axis=0)
    cr = cross3(v, w)
    nrm = np.linalg.norm(cr, axis=1)
    theta = np.arctan2(nrm, np.einsum("ij,ij->i", v, w))
    return 0.5 * np.sum(cr * (theta / np.where(nrm > 0, nrm, 1.0))[:, None], axis=0)


def centroid(geometry: Any) -> tuple[float, float]:
    """Spherical centroid (lon, lat) in degrees: direction of the area-weighted mean position
    of the region (overlapping parts count once, as in :func:`area`)."""
    g = validate_geometry(geometry)
    if _parts_may_overlap(g):
        from .boolean import union

        g = as_geometry(union([g]))
    m = np.zeros(3)
    for part in g:
        m += _ring_moment(ring_vectors(part[0]))
        for hole in part[1:]:
            m -= _ring_moment(ring_vectors(hole))
    if np.linalg.norm(m) < 1e-300:
        raise GeometryError("centroid undefined (zero first moment)")
    lon, lat = vec_to_lonlat(m)
    return float(lon), float(lat)


#: Fractions along an edge used as walk targets: first the midpoint of the edge with the
#: nearest midpoint; if that walk is degenerate, every edge by increasing midpoint distance,
#: then the same with the other fractions.
_WALK_FRACTIONS = (0.5, 0.3125, 0.6875)
#: A walk passing closer than this (radians) to a vertex, or starting this close to the
#: target edge's great circle, is degenerate and another target is tried.
WALK_EPS = 1e-12


def _contains_ring(ring_ccw: NDArray[np.float64], p: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Points p (N, 3) strictly inside a counter-clockwise ring (interior on the left).

    Walk the minor arc from p to a point m inside a ring edge e (first the midpoint of the
    edge with the nearest midpoint).  Just before m the walk is inside iff p is on the
    interior (+n) side of e's plane (a minor arc meets a great circle at most once); every
    crossing of another edge on the way flips the state.  The walk is degenerate when p lies
    on e's great circle (e.g. the north pole and a meridian edge) or the walk passes through a
    vertex (touching, not crossing); then the next target is tried (every edge by midpoint
    distance, at the fractions ``_WALK_FRACTIONS``).  Only
    points within ~WALK_EPS of the boundary itself (genuine ties) may go either way.
    """
    a = ring_ccw
    b = np.roll(a, -1, axis=0)
    nv = len(a)
    nrm = arc_normals(a, b)
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    mid = a + b
    mid /= np.linalg.norm(mid, axis=1, keepdims=True)
    p = np.atleast_2d(p)
    out = np.empty(len(p), dtype=bool)
    step = max(1, 1_000_000 // max(1, nv * nv))
    for s in range(0, len(p), step):
        q = p[s : s + step]
        near = q @ mid.T
        todo = np.arange(len(q))
        res = np.zeros(len(q), dtype=bool)
        rank = np.argmax(near, axis=1)[:, None]
        tries = [(0, 0.5)] + [(r, f) for f in _WALK_FRACTIONS for r in range(nv)][1:]
        for t, (r, f) in enumerate(tries):
            qq = q[todo]
            e = rank[:, r]
            m = (1.0 - f) * a[e] + f * b[e]
            m /= np.linalg.norm(m, axis=1, keepdims=True)
            side = np.einsum("ij,ij->i", nrm[e], qq)
            cross = arcs_cross(qq[:, None], m[:, None], a[None], b[None])
            cross[np.arange(len(qq)), e] = False
            res[todo] = (side > 0) ^ (cross.sum(axis=1) % 2 == 1)
            if t == len(tries) - 1:
                break
            # degenerate walks: start on e's great circle, or a vertex (nearly) on the walk
            w = arc_normals(qq, m)
            wn = np.linalg.norm(w, axis=1)
            bad = (np.abs(side) < WALK_EPS) | (wn < WALK_EPS)
            w /= np.where(wn > 0, wn, 1.0)[:, None]
            on_circle = np.abs(w @ a.T) < WALK_EPS  # (N, nv)
            ahead = (a @ (qq + m).T).T > 0  # in the hemisphere of the walk (conservative)
            bad |= (on_circle & ahead).any(axis=1)
            if not bad.any():
                break
            todo = todo[bad]
            rank = np.argsort(-near[todo], axis=1, kind="stable") if t == 0 else rank[bad]
        out[s : s + step] = res
    return out


def contains_vec(g: list[list[NDArray[np.float64]]], p: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Points p (N, 3) inside a normalised geometry (any part, outside its holes)."""
    p = np.atleast_2d(p)
    res = np.zeros(len(p), dtype=bool)
    for part in g:
        inside = _contains_ring(oriented_ring(ring_vectors(part[0])), p)
        for hole in part[1:]:
            inside &= ~_contains_ring(oriented_ring(ring_vectors(hole)), p)
        res |= inside
    return res


def contains(geometry: Any, lon: ArrayLike, lat: ArrayLike) -> bool | NDArray[np.bool_]:
    """Is (lon, lat) inside the geometry?  Scalars give a bool, arrays a bool array."""
    g = validate_geometry(geometry)
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    shape = np.broadcast(lon_a, lat_a).shape
    p = lonlat_to_vec(lon_a, lat_a).reshape(-1, 3)
    res = contains_vec(g, p).reshape(shape)
    return bool(res) if res.shape == () else res
