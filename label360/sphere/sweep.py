"""Which arcs of a set of rings meet: a plane sweep over longitude (compiled with numba).

Validation must know whether any two non-adjacent great-circle arcs of a ring (or of the rings
of one polygon) cross or touch.  Testing every pair costs O(n^2) time and, vectorised, O(n^2)
memory; this module finds the first meeting pair with a Shamos-Hoey sweep instead:
O(n log n) comparisons.

Method.  The sphere is first turned so that its north pole lies far from every arc's great
circle (the best of a fixed set of 64 well-spread directions): then no arc passes through or
near a pole, every arc runs monotonically in longitude, and an arc is a curve ``lat(lon)``
over its longitude interval (an arc across the ±180 meridian becomes two pieces).  A sweep
meridian moves east; the pieces it meets are kept ordered by latitude.  Every pair of pieces
that come within three places of each other in that order is tested once (when one is
inserted, or when a piece between them ends).  Two pieces cannot meet without having been that
close in the order before the first (westernmost) meeting point: whatever lies between them
there is within the tolerance of both, so it meets one of them — unless it is adjacent to both
in the ring, and at most two arcs are (classic Shamos-Hoey argument, with direct neighbours;
the window of three covers the arcs that are exempt from testing).  It holds with tolerances
because the latitude gap of two arcs at one longitude is at least their distance on the sphere,
and arcs closer than the tolerance are a meeting by definition.

"Meet" (:func:`arcs_meet`): the arcs cross at an interior point (each one's ends strictly on
opposite sides of the other's great circle), or an end of one lies within ``eps`` radians of
the other.  Arcs on one great circle (collinear) therefore meet only if they overlap or touch;
disjoint collinear arcs never do.  Arcs sharing a vertex of one ring (adjacent) are never
tested.

The status is a sorted array: each insertion and deletion is a binary search plus one move of
the entries after it, so the moves cost O(n k) words for at most k arcs met by one meridian
(small for real outlines; the vertex limits of :mod:`label360.sphere.polygons` bound the worst
case, a comb whose teeth all span the same longitudes).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["first_meeting", "arcs_meet", "SIDE_EPS"]

_jit = numba.njit(cache=True, nogil=True)

#: An end of one arc closer than this (sine of the angle) to the other arc's great circle is
#: on that circle, not strictly on one side: collinear arcs never count as crossing.
SIDE_EPS = 1e-12
#: Every pair of pieces at most this many places apart in the order is tested (not only direct
#: neighbours): arcs adjacent in the ring are never tested, and up to two of them (a ring's
#: two neighbours of an arc) can lie between two arcs that meet.
_WINDOW = 3
#: Latitudes (radians) closer than this compare as equal; the order is then decided a little
#: further east (or by index).
_TIE = 1e-12


def _fibonacci(k: int) -> NDArray[np.float64]:
    i = np.arange(k) + 0.5
    y = 1.0 - 2.0 * i / k
    r = np.sqrt(1.0 - y * y)
    t = math.pi * (3.0 - math.sqrt(5.0)) * i
    # a fixed, irrational tilt keeps the candidates off the coordinate planes, where
    # hand-made rings (meridians, the equator) put their arcs
    v = np.stack([r * np.cos(t), y, r * np.sin(t)], axis=1)
    a, b = 0.3719, 0.2113
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    rz = np.array([[math.cos(b), -math.sin(b), 0], [math.sin(b), math.cos(b), 0], [0, 0, 1]])
    return v @ (rz @ rx).T


_POLES = _fibonacci(64)


@_jit
def _dist_point_arc(px, py, pz, a0, a1, a2, b0, b1, b2) -> float:  # noqa: ANN001
    """Angular distance from p to the minor arc a-b (as polygons.point_arc_distance)."""
    s0, s1, s2 = a0 + b0, a1 + b1, a2 + b2
    d0, d1, d2 = b0 - a0, b1 - a1, b2 - a2
    n0, n1, n2 = s1 * d2 - s2 * d1, s2 * d0 - s0 * d2, s0 * d1 - s1 * d0
    nn = math.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
    if nn > 0.0:
        n0, n1, n2 = n0 / nn, n1 / nn, n2 / nn
    # p projects inside the arc: (a x p) . n >= 0 and (p x b) . n >= 0
    c0, c1, c2 = a1 * pz - a2 * py, a2 * px - a0 * pz, a0 * py - a1 * px
    e0, e1, e2 = py * b2 - pz * b1, pz * b0 - px * b2, px * b1 - py * b0
    if nn > 0.0 and c0 * n0 + c1 * n1 + c2 * n2 >= 0.0 and e0 * n0 + e1 * n1 + e2 * n2 >= 0.0:
        s = px * n0 + py * n1 + pz * n2
        return abs(math.asin(min(1.0, max(-1.0, s))))
    da = math.sqrt((px - a0) ** 2 + (py - a1) ** 2 + (pz - a2) ** 2)
    db = math.sqrt((px - b0) ** 2 + (py - b1) ** 2 + (pz - b2) ** 2)
    return 2.0 * math.asin(min(1.0, 0.5 * min(da, db)))


@_jit
def _meet(v, i, j, nxt, eps) -> bool:  # noqa: ANN001
    """Arcs i -> nxt[i] and j -> nxt[j] of the vertex array v cross or touch (see module)."""
    ia, ib, ja, jb = i, nxt[i], j, nxt[j]
    a0, a1, a2 = v[ia, 0], v[ia, 1], v[ia, 2]
    b0, b1, b2 = v[ib, 0], v[ib, 1], v[ib, 2]
    c0, c1, c2 = v[ja, 0], v[ja, 1], v[ja, 2]
    d0, d1, d2 = v[jb, 0], v[jb, 1], v[jb, 2]
    # unit normals (a + b) x (b - a), as polygons.arc_normals
    s0, s1, s2 = a0 + b0, a1 + b1, a2 + b2
    t0, t1, t2 = b0 - a0, b1 - a1, b2 - a2
    m0, m1, m2 = s1 * t2 - s2 * t1, s2 * t0 - s0 * t2, s0 * t1 - s1 * t0
    mm = math.sqrt(m0 * m0 + m1 * m1 + m2 * m2)
    s0, s1, s2 = c0 + d0, c1 + d1, c2 + d2
    t0, t1, t2 = d0 - c0, d1 - c1, d2 - c2
    n0, n1, n2 = s1 * t2 - s2 * t1, s2 * t0 - s0 * t2, s0 * t1 - s1 * t0
    nn = math.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
    if mm > 0.0 and nn > 0.0:
        m0, m1, m2 = m0 / mm, m1 / mm, m2 / mm
        n0, n1, n2 = n0 / nn, n1 / nn, n2 / nn
        sc = m0 * c0 + m1 * c1 + m2 * c2
        sd = m0 * d0 + m1 * d1 + m2 * d2
        sa = n0 * a0 + n1 * a1 + n2 * a2
        sb = n0 * b0 + n1 * b1 + n2 * b2
        if (
            abs(sc) > SIDE_EPS
            and abs(sd) > SIDE_EPS
            and abs(sa) > SIDE_EPS
            and abs(sb) > SIDE_EPS
            and sc * sd < 0.0
            and sa * sb < 0.0
        ):
            # the circles meet at +-p; it must be the same point for both minor arcs
            p0, p1, p2 = m1 * n2 - m2 * n1, m2 * n0 - m0 * n2, m0 * n1 - m1 * n0
            pa = p0 * (a0 + b0) + p1 * (a1 + b1) + p2 * (a2 + b2)
            pc = p0 * (c0 + d0) + p1 * (c1 + d1) + p2 * (c2 + d2)
            if pa * pc > 0.0:
                return True
    if _dist_point_arc(c0, c1, c2, a0, a1, a2, b0, b1, b2) < eps:
        return True
    if _dist_point_arc(d0, d1, d2, a0, a1, a2, b0, b1, b2) < eps:
        return True
    if _dist_point_arc(a0, a1, a2, c0, c1, c2, d0, d1, d2) < eps:
        return True
    return _dist_point_arc(b0, b1, b2, c0, c1, c2, d0, d1, d2) < eps


@_jit
def _meet_many(v, ii, jj, nxt, eps):  # noqa: ANN001
    out = np.zeros(ii.shape[0], dtype=np.bool_)
    for k in range(ii.shape[0]):
        out[k] = _meet(v, ii[k], jj[k], nxt, eps)
    return out


def arcs_meet(
    v: NDArray[np.float64], i: NDArray, j: NDArray, nxt: NDArray, eps: float
) -> NDArray[np.bool_]:
    """For each k: do arcs i[k] -> nxt[i[k]] and j[k] -> nxt[j[k]] of v meet?  (The test the
    sweep applies to the pairs it meets; the reference for tests that check every pair.)"""
    return _meet_many(
        np.ascontiguousarray(v, dtype=np.float64),
        np.asarray(i, dtype=np.int64),
        np.asarray(j, dtype=np.int64),
        np.asarray(nxt, dtype=np.int64),
        float(eps),
    )


@_jit
def _lat_on(a, b, cx, sx) -> float:  # noqa: ANN001
    """Latitude where the arc a-b meets the half meridian of longitude x (cos cx, sin sx):
    the convex combination of the ends weighted by their distances from the meridian plane,
    which is on the arc."""
    da = abs(cx * a[0] - sx * a[2])
    db = abs(cx * b[0] - sx * b[2])
    if da + db == 0.0:
        da = db = 1.0
    q0 = db * a[0] + da * b[0]
    q1 = db * a[1] + da * b[1]
    q2 = db * a[2] + da * b[2]
    return math.atan2(q1, q0 * sx + q2 * cx)


@_jit
def _lat_at(p, x, cx, sx, px0, px1, py0, py1, pa, pb) -> float:  # noqa: ANN001
    """Latitude of piece p at the sweep longitude x: its own end latitudes at its ends."""
    if x == px0[p]:
        return py0[p]
    if x == px1[p]:
        return py1[p]
    return _lat_on(pa[p], pb[p], cx, sx)


@_jit
def _sweep(v, nxt, eps, poles):  # noqa: ANN001, C901 (one compiled loop)
    n = v.shape[0]
    if n < 2:
        return -1, -1
    # unit normals of the arcs, for choosing the pole
    nrm = np.empty((n, 3))
    for i in range(n):
        j = nxt[i]
        s0, s1, s2 = v[i, 0] + v[j, 0], v[i, 1] + v[j, 1], v[i, 2] + v[j, 2]
        t0, t1, t2 = v[j, 0] - v[i, 0], v[j, 1] - v[i, 1], v[j, 2] - v[i, 2]
        m0, m1, m2 = s1 * t2 - s2 * t1, s2 * t0 - s0 * t2, s0 * t1 - s1 * t0
        mm = math.sqrt(m0 * m0 + m1 * m1 + m2 * m2)
        if mm == 0.0:
            mm = 1.0
        nrm[i, 0], nrm[i, 1], nrm[i, 2] = m0 / mm, m1 / mm, m2 / mm
    best, best_score = 0, -1.0
    for k in range(poles.shape[0]):
        score = 2.0
        for i in range(n):
            d = abs(nrm[i, 0] * poles[k, 0] + nrm[i, 1] * poles[k, 1] + nrm[i, 2] * poles[k, 2])
            if d < score:
                score = d
                if score <= best_score:
                    break
        if score > best_score:
            best, best_score = k, score
    py_ = poles[best]
    t = np.array([1.0, 0.0, 0.0]) if abs(py_[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    e1 = np.array(
        [
            t[1] * py_[2] - t[2] * py_[1],
            t[2] * py_[0] - t[0] * py_[2],
            t[0] * py_[1] - t[1] * py_[0],
        ]
    )
    e1 /= math.sqrt(e1[0] ** 2 + e1[1] ** 2 + e1[2] ** 2)
    e2 = np.array(
        [
            py_[1] * e1[2] - py_[2] * e1[1],
            py_[2] * e1[0] - py_[0] * e1[2],
            py_[0] * e1[1] - py_[1] * e1[0],
        ]
    )
    # turned vertices: (x, y, z) = (v.e2, v.pole, v.e1) so lon = atan2(x, z) as in vectors.py
    r = np.empty((n, 3))
    lon = np.empty(n)
    lat = np.empty(n)
    for i in range(n):
        x = v[i, 0] * e2[0] + v[i, 1] * e2[1] + v[i, 2] * e2[2]
        y = v[i, 0] * py_[0] + v[i, 1] * py_[1] + v[i, 2] * py_[2]
        z = v[i, 0] * e1[0] + v[i, 1] * e1[1] + v[i, 2] * e1[2]
        r[i, 0], r[i, 1], r[i, 2] = x, y, z
        lon[i] = math.atan2(x, z)
        lat[i] = math.atan2(y, math.sqrt(x * x + z * z))
    # pieces: longitude-monotone parts of the arcs, west (x0) to east (x1)
    cap = 2 * n
    arc = np.empty(cap, dtype=np.int64)
    px0 = np.empty(cap)
    px1 = np.empty(cap)
    py0 = np.empty(cap)
    py1 = np.empty(cap)
    pa = np.empty((cap, 3))
    pb = np.empty((cap, 3))
    m = 0
    pi = math.pi
    for i in range(n):
        j = nxt[i]
        d = lon[j] - lon[i]
        if d > pi:
            d -= 2 * pi
        elif d < -pi:
            d += 2 * pi
        if d >= 0.0:
            wv, ev = i, j
        else:
            wv, ev = j, i
        west = lon[wv]
        east = west + abs(d)
        if east > pi:  # across the +-180 meridian of the turned sphere: two pieces
            y_seam = _lat_on(r[wv], r[ev], -1.0, 0.0)
            arc[m], px0[m], px1[m], py0[m], py1[m] = i, west, pi, lat[wv], y_seam
            pa[m], pb[m] = r[wv], r[ev]
            m += 1
            arc[m], px0[m], px1[m], py0[m], py1[m] = i, -pi, lon[ev], y_seam, lat[ev]
            pa[m], pb[m] = r[wv], r[ev]
            m += 1
        else:
            arc[m], px0[m], px1[m], py0[m], py1[m] = i, west, lon[ev], lat[wv], lat[ev]
            if px1[m] < px0[m]:  # rounding at the seam: keep the piece well formed
                px1[m] = px0[m]
            pa[m], pb[m] = r[wv], r[ev]
            m += 1
    # events: (x, kind 0 = insert / 1 = delete, lat) ascending; inserts first at equal x so
    # that a piece starting where another ends is compared with it
    ne = 2 * m
    ex = np.empty(ne)
    ek = np.empty(ne, dtype=np.int64)
    ey = np.empty(ne)
    ep = np.empty(ne, dtype=np.int64)
    for k in range(m):
        ex[2 * k], ek[2 * k], ey[2 * k], ep[2 * k] = px0[k], 0, py0[k], k
        ex[2 * k + 1], ek[2 * k + 1], ey[2 * k + 1], ep[2 * k + 1] = px1[k], 1, py1[k], k
    order = np.argsort(ey, kind="mergesort")
    order = order[np.argsort(ek[order], kind="mergesort")]
    order = order[np.argsort(ex[order], kind="mergesort")]
    st = np.empty(m, dtype=np.int64)
    pos = np.full(m, -1, dtype=np.int64)
    size = 0
    for q in range(ne):
        e = order[q]
        p = ep[e]
        x = ex[e]
        cx, sx = math.cos(x), math.sin(x)
        if ek[e] == 0:
            y = py0[p]
            lo, hi = 0, size
            while lo < hi:
                mid = (lo + hi) // 2
                o = st[mid]
                yo = _lat_at(o, x, cx, sx, px0, px1, py0, py1, pa, pb)
                if abs(yo - y) > _TIE:
                    below = yo < y
                else:
                    # equal here: compare a little further east, where both still run
                    xm = x + 0.5 * min(px1[p] - x, px1[o] - x)
                    if xm > x:
                        cm, sm = math.cos(xm), math.sin(xm)
                        ym_o = _lat_at(o, xm, cm, sm, px0, px1, py0, py1, pa, pb)
                        ym_p = _lat_at(p, xm, cm, sm, px0, px1, py0, py1, pa, pb)
                        below = ym_o < ym_p if ym_o != ym_p else o < p
                    else:
                        below = o < p
                if below:
                    lo = mid + 1
                else:
                    hi = mid
            for s in range(size, lo, -1):
                st[s] = st[s - 1]
                pos[st[s]] = s
            st[lo] = p
            pos[p] = lo
            size += 1
            for d in range(1, _WINDOW + 1):
                for nb in (lo - d, lo + d):
                    if 0 <= nb < size:
                        a, b = arc[p], arc[st[nb]]
                        if a != b and nxt[a] != b and nxt[b] != a and _meet(v, a, b, nxt, eps):
                            return min(a, b), max(a, b)
        else:
            at = pos[p]
            # pairs that the removal brings within _WINDOW places of each other
            for i in range(1, _WINDOW + 1):
                for j in range(1, _WINDOW + 2 - i):
                    if at - i < 0 or at + j >= size:
                        continue
                    a, b = arc[st[at - i]], arc[st[at + j]]
                    if a != b and nxt[a] != b and nxt[b] != a and _meet(v, a, b, nxt, eps):
                        return min(a, b), max(a, b)
            for s in range(at, size - 1):
                st[s] = st[s + 1]
                pos[st[s]] = s
            pos[p] = -1
            size -= 1
    return -1, -1


def first_meeting(
    v: NDArray[np.float64], nxt: NDArray[np.int64], eps: float
) -> tuple[int, int] | None:
    """The first pair (i, j), i < j, of non-adjacent arcs ``k -> nxt[k]`` of the unit vectors
    ``v`` (n, 3) that meet (:func:`arcs_meet`), or None when no two do.

    ``nxt`` closes each ring: arcs k and nxt[k] are adjacent (share vertex nxt[k]).  Arcs of
    different rings are never adjacent.  Arcs must be shorter than 180 degrees and have
    distinct ends (validation checks that first).
    """
    v = np.ascontiguousarray(v, dtype=np.float64)
    nxt = np.ascontiguousarray(nxt, dtype=np.int64)
    i, j = _sweep(v, nxt, float(eps), _POLES)
    return None if i < 0 else (int(i), int(j))
