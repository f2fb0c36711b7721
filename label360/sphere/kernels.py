"""Compiled inner loops of the rasteriser (numba, compiled on first use and cached on disk).

Two loops that numpy can only express as many small array operations or large temporaries:

- :func:`fill_runs` writes column runs straight into a mask or label map (no intermediate
  block, so the cost is the memory the runs touch);
- :func:`ring_clearly_valid` is the conservative pre-check that lets a polygon made of one
  ring skip the full :func:`label360.sphere.polygons.validate_geometry` (a 20-gon: a few
  microseconds instead of ~1 ms);
- :func:`ring_signed_area` is the loop of :func:`label360.sphere.polygons.ring_signed_area`
  (well under a microsecond for a 20-gon instead of ~40, which a dataset export pays once
  per instance).

The maths of each test is the validation's own; only the loop is compiled.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["fill_runs", "ring_clearly_valid", "ring_signed_area"]

_jit = numba.njit(cache=True, nogil=True)
_FOUR_PI = 4.0 * math.pi

#: Rings longer than this skip the (quadratic) pre-check and go to the full validation.
PRECHECK_MAX_VERTICES = 256


@_jit
def fill_runs(buf_t, col, start, end, value) -> None:  # noqa: ANN001 (numba signature)
    """Write ``value`` into runs ``buf_t[col[k], start[k]:end[k]]`` of a (W, H) buffer (a
    mask or label map stored column by column); later runs overwrite earlier ones."""
    for k in range(col.shape[0]):
        buf_t[col[k], start[k] : end[k]] = value


@_jit
def ring_signed_area(v) -> float:  # noqa: ANN001 (numba signature)
    """Signed area (sr) of a closed ring of unit vectors (n, 3), C-contiguous float64: the
    loop of :func:`label360.sphere.polygons.ring_signed_area`, which documents the maths."""
    n = v.shape[0]
    cx = cy = cz = 0.0
    for i in range(n):
        cx += v[i, 0]
        cy += v[i, 1]
        cz += v[i, 2]
    norm = math.sqrt(cx * cx + cy * cy + cz * cz)
    if norm < 1e-3 * n:  # nearly balanced vertices: the vector area gives the centre
        cx = cy = cz = 0.0
        for i in range(n):
            j = (i + 1) % n
            cx += v[i, 1] * v[j, 2] - v[i, 2] * v[j, 1]
            cy += v[i, 2] * v[j, 0] - v[i, 0] * v[j, 2]
            cz += v[i, 0] * v[j, 1] - v[i, 1] * v[j, 0]
        norm = math.sqrt(cx * cx + cy * cy + cz * cz)
    if norm > 0:
        cx, cy, cz = cx / norm, cy / norm, cz / norm
    else:
        cx, cy, cz = 0.0, 0.0, 1.0
    total = 0.0
    for i in range(n):
        j = (i + 1) % n
        ax, ay, az = v[i, 0] - cx, v[i, 1] - cy, v[i, 2] - cz
        bx, by, bz = v[j, 0] - cx, v[j, 1] - cy, v[j, 2] - cz
        num = (ay * bz - az * by) * cx + (az * bx - ax * bz) * cy + (ax * by - ay * bx) * cz
        ab = v[i, 0] * v[j, 0] + v[i, 1] * v[j, 1] + v[i, 2] * v[j, 2]
        bc = v[j, 0] * cx + v[j, 1] * cy + v[j, 2] * cz
        ac = v[i, 0] * cx + v[i, 1] * cy + v[i, 2] * cz
        total += 2.0 * math.atan2(num, 1.0 + ab + bc + ac)
    return total - _FOUR_PI * round(total / _FOUR_PI)


@_jit
def _ring_clearly_valid(ring) -> bool:  # noqa: ANN001 (numba signature)
    n = ring.shape[0]
    if n < 3:
        return False
    for k in range(n):  # comparisons are False for NaN, so NaN and inf fail here too
        lon, lat = ring[k, 0], ring[k, 1]
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            return False
    # unit vectors, as lonlat_to_vec: x = cos(lat) sin(lon), y = sin(lat), z = cos(lat) cos(lon)
    v = np.empty((n, 3))
    d2r = math.pi / 180.0
    for k in range(n):
        lon, lat = ring[k, 0] * d2r, ring[k, 1] * d2r
        c = math.cos(lat)
        v[k, 0] = c * math.sin(lon)
        v[k, 1] = math.sin(lat)
        v[k, 2] = c * math.cos(lon)
    chord = np.empty((n, 3))  # v[k+1] - v[k]
    half = np.empty((n, 3))  # v[k+1] + v[k]
    clen = np.empty(n)
    for k in range(n):
        j = k + 1 if k + 1 < n else 0
        c2 = h2 = 0.0
        for a in range(3):
            chord[k, a] = v[j, a] - v[k, a]
            half[k, a] = v[j, a] + v[k, a]
            c2 += chord[k, a] * chord[k, a]
            h2 += half[k, a] * half[k, a]
        # (2 sin(ang/2))^2 and (2 cos(ang/2))^2: not a duplicate, not antipodal (4x margin)
        if c2 <= (4e-10) ** 2 or h2 <= (4e-9) ** 2:
            return False
        clen[k] = math.sqrt(c2)
    # spikes: validation's sin_t = |(ta x tc) . v| and ta . tc, evaluated on the chords
    # a = prev - v, b = next - v (full relative precision for short edges); this rounding is
    # < 1e-15 (|a| + |b|): clear 2x validation's 1e-12 |ta||tc| bound, or ta . tc < 0
    for k in range(n):
        p = k - 1 if k > 0 else n - 1
        a0, a1, a2 = -chord[p, 0], -chord[p, 1], -chord[p, 2]
        b0, b1, b2 = chord[k, 0], chord[k, 1], chord[k, 2]
        x0, x1, x2 = v[k, 0], v[k, 1], v[k, 2]
        sin_t = abs((a1 * b2 - a2 * b1) * x0 + (a2 * b0 - a0 * b2) * x1 + (a0 * b1 - a1 * b0) * x2)
        av = a0 * x0 + a1 * x1 + a2 * x2
        bv = b0 * x0 + b1 * x1 + b2 * x2
        tatc = a0 * b0 + a1 * b1 + a2 * b2 - av * bv
        cp, c = clen[p], clen[k]
        noise = 4e-15 * (cp + c)
        if not (sin_t > 2e-12 * (cp + 1e-15) * (c + 1e-15) + noise or tatc < -noise):
            return False
    if n >= 4:
        # edge normals exactly as arc_normals: (v + w) x (w - v)
        nrm = np.empty((n, 3))
        g = np.empty((n, 3))  # m x n_i with m = v + w: (m x n_i) . n_j = (n_i x n_j) . m
        r = np.empty(n)
        for i in range(n):
            m0, m1, m2 = half[i, 0], half[i, 1], half[i, 2]
            c0, c1, c2 = chord[i, 0], chord[i, 1], chord[i, 2]
            n0, n1, n2 = m1 * c2 - m2 * c1, m2 * c0 - m0 * c2, m0 * c1 - m1 * c0
            nrm[i, 0], nrm[i, 1], nrm[i, 2] = n0, n1, n2
            g[i, 0], g[i, 1], g[i, 2] = m1 * n2 - m2 * n1, m2 * n0 - m0 * n2, m0 * n1 - m1 * n0
            r[i] = math.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
        # side[i, k]: vertex k clearly on one side of edge i's great circle (rounding
        # ~1e-15 |n_i|), else 0; no vertex within 2e-10 rad of a non-incident edge's circle
        side = np.empty((n, n), dtype=np.int8)
        for i in range(n):
            i1 = i + 1 if i + 1 < n else 0
            for k in range(n):
                d = nrm[i, 0] * v[k, 0] + nrm[i, 1] * v[k, 1] + nrm[i, 2] * v[k, 2]
                ad = abs(d)
                side[i, k] = 0 if ad <= 1e-13 * r[i] else (1 if d > 0 else -1)
                if k != i and k != i1 and ad <= 2e-10 * r[i]:
                    return False
        for i in range(n):
            i1 = i + 1 if i + 1 < n else 0
            for j in range(i + 2, n):
                if i == 0 and j == n - 1:
                    continue  # adjacent through the closing edge
                j1 = j + 1 if j + 1 < n else 0
                if side[i, j] * side[i, j1] > 0 or side[j, i] * side[j, i1] > 0:
                    continue  # one edge clearly on one side of the other's great circle
                tq = 1e-13 * r[i] * r[j]
                q_ij = g[i, 0] * nrm[j, 0] + g[i, 1] * nrm[j, 1] + g[i, 2] * nrm[j, 2]
                q_ji = g[j, 0] * nrm[i, 0] + g[j, 1] * nrm[i, 1] + g[j, 2] * nrm[i, 2]
                s_ij = 0 if abs(q_ij) <= tq else (1 if q_ij > 0 else -1)
                s_ji = 0 if abs(q_ji) <= tq else (1 if q_ji > 0 else -1)
                if s_ij * s_ji <= 0:
                    return False  # the circles might meet on both arcs: edges i, j may cross
    # area: every vertex at least 1e-8 inside the open hemisphere about the vertex mean; the
    # arcs stay in that cap, so the (simple) ring bounds at most 2 pi (1 - 1e-8) sr, far
    # from validation's 2 pi - 1e-9 limit
    s0 = s1 = s2 = 0.0
    for k in range(n):
        s0 += v[k, 0]
        s1 += v[k, 1]
        s2 += v[k, 2]
    tol = 1e-8 * math.sqrt(s0 * s0 + s1 * s1 + s2 * s2)
    for k in range(n):
        if s0 * v[k, 0] + s1 * v[k, 1] + s2 * v[k, 2] <= tol:
            return False
    return True


def ring_clearly_valid(ring: NDArray[np.float64]) -> bool:
    """Conservative fast check that ``validate_geometry`` finds no problem in a polygon made of
    this one (n, 2) ring: True only when every test of the validation passes with a wide
    margin (4x its tolerances, 1e-12 relative on the sign tests; float rounding of either
    computation is ~1e-15), else False (undecided: the caller runs the full validation, so
    the result and the error raised never depend on this function).  Its pair tests are
    quadratic, so rings over ``PRECHECK_MAX_VERTICES`` are left to the validation's sweep."""
    if len(ring) > PRECHECK_MAX_VERTICES:
        return False
    return bool(_ring_clearly_valid(np.ascontiguousarray(ring, dtype=np.float64)))


@_jit
def edge_crossings(ext, d, vec, lon_c, sin_c, cos_c, rows_ext, height):  # noqa: ANN001
    """(col, row) crossing events of one ring with no vertex at a pole and no edge through a
    pole: for every edge, every column whose centre longitude lies in the edge's half-open
    longitude interval, and the number of row centres strictly north of the crossing.

    ``ext`` (n+1, 2) the ring closed, ``d`` (n,) each edge's longitude step, ``vec`` (n+1, 3)
    the closed ring's unit vectors; ``lon_c``/``sin_c``/``cos_c`` the column centres;
    ``rows_ext`` the row-centre latitudes padded with +inf / -inf.  The method is described
    in :mod:`label360.sphere.raster`.
    """
    width = lon_c.shape[0]
    n = d.shape[0]
    # columns with centre longitude < each vertex's longitude (exact comparisons)
    t = np.searchsorted(lon_c, ext[:, 0])
    lo = np.empty(n, dtype=np.int64)
    cnt = np.zeros(n, dtype=np.int64)
    east = np.empty(n, dtype=np.bool_)
    total = 0
    for e in range(n):
        de = d[e]
        if de == 0.0:
            continue
        # |d| > 180: the edge crosses the seam; east: it runs towards increasing longitude
        ea = (de > 0.0) != (abs(de) > 180.0)
        east[e] = ea
        if ea:
            lo[e] = t[e]
            hi = t[e + 1] + (width if de < 0.0 else 0)
        else:
            lo[e] = t[e + 1]
            hi = t[e] + (width if de > 0.0 else 0)
        # never negative for finite input; NaN (validate=False on garbage) must not make
        # the loops below write past the arrays (numba does not check bounds)
        cnt[e] = max(hi - lo[e], 0)
        total += cnt[e]
    cols = np.empty(total, dtype=np.int64)
    rows = np.empty(total, dtype=np.int64)
    r2d = 180.0 / math.pi
    k = 0
    for e in range(n):
        ax, ay, az = vec[e, 0], vec[e, 1], vec[e, 2]
        bx, by, bz = vec[e + 1, 0], vec[e + 1, 1], vec[e + 1, 2]
        w = e if east[e] else e + 1  # the edge's western vertex
        for m in range(cnt[e]):
            c = lo[e] + m
            if c >= width:
                c -= width
            sl, cl = sin_c[c], cos_c[c]
            if m == 0 and lon_c[c] == ext[w, 0]:
                lat = ext[w, 1]  # exact tie: the column crosses the edge at its vertex
            else:
                # distances of the ends from the meridian plane; the crossing point
                # x = db a + da b is a convex combination, so it is on the arc
                da = abs(cl * ax - sl * az)
                db = abs(cl * bx - sl * bz)
                if da + db == 0.0:  # both ends on the plane (ulp-wide edge): the midpoint
                    da = db = 1.0
                xx = (db * ax + da * bx) * sl + (db * az + da * bz) * cl
                xy = db * ay + da * by
                lat = (math.atan(xy / xx) if xx > 0.0 else math.atan2(xy, xx)) * r2d
            cols[k] = c
            rows[k] = _row_count(lat, rows_ext, height)
            k += 1
    return cols, rows


@_jit
def _row_count(lat, rows_ext, height):  # noqa: ANN001
    """Number of row centres strictly north of latitude `lat` (degrees), exact against the
    float row centres ``rows_ext`` (padded with +inf / -inf): a closed-form guess corrected
    by one comparison on each side."""
    r = math.ceil((90.0 - lat) * (height / 180.0) - 0.5)
    ri = 0 if r < 0.0 else (height if r > height else int(r))
    if rows_ext[ri + 1] > lat:  # row ri is still north: count it
        ri += 1
    if rows_ext[ri] <= lat:  # row ri - 1 is not north: do not count it
        ri -= 1
    return ri


@_jit
def rows_above(lat, rows_ext, height):  # noqa: ANN001
    """:func:`_row_count` of every latitude in the 1-D array `lat`."""
    out = np.empty(lat.shape[0], dtype=np.int64)
    for k in range(lat.shape[0]):
        out[k] = _row_count(lat[k], rows_ext, height)
    return out


@_jit
def runs_from_events(cols, rows, width, height):  # noqa: ANN001
    """Sorted (col, start, end) runs from toggle events: within each column the events
    sorted by row pair up as (start, end); a column with an odd count is closed at row
    ``height`` (inside down to the south pole); empty runs are dropped."""
    count = np.zeros(width + 1, dtype=np.int64)
    for c in cols:
        count[c + 1] += 1
    for c in range(width):
        count[c + 1] += count[c]  # count[c] = first slot of column c
    slot = count[:-1].copy()
    by_col = np.empty(cols.shape[0], dtype=np.int64)
    for k in range(cols.shape[0]):
        c = cols[k]
        by_col[slot[c]] = rows[k]
        slot[c] += 1
    out_c = np.empty(cols.shape[0] // 2 + width, dtype=np.int64)
    out_s = np.empty_like(out_c)
    out_e = np.empty_like(out_c)
    m = 0
    for c in range(width):
        a, b = count[c], count[c + 1]
        if a == b:
            continue
        if b - a > 16:
            by_col[a:b].sort()
        for i in range(a + 1, b):  # insertion sort: a column usually has two events
            x = by_col[i]
            j = i - 1
            while j >= a and by_col[j] > x:
                by_col[j + 1] = by_col[j]
                j -= 1
            by_col[j + 1] = x
        seg = by_col[a:b]
        for i in range(0, b - a, 2):
            s = seg[i]
            e = seg[i + 1] if i + 1 < b - a else height
            if e > s:
                out_c[m], out_s[m], out_e[m] = c, s, e
                m += 1
    return out_c[:m].copy(), out_s[:m].copy(), out_e[:m].copy()


def compile_kernels() -> None:
    """Compile every kernel for the argument types the rasteriser uses (and write numba's
    on-disk cache), so that the first mask a server renders does not pay the few seconds of
    compilation. ``scripts/setup.sh`` runs this after installing."""
    from .polygons import geometry_problems
    from .raster import label_map, rasterize, row_intervals
    from .sweep import arcs_meet

    square = [[[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]]]
    ring_signed_area(np.eye(3))
    rasterize(square, 72, 36)
    rasterize([[[0.0, 80.0], [120.0, 80.0], [-120.0, 90.0]]], 72, 36)  # the pole path
    label_map([square], 72, 36)
    row_intervals(square, 72, 36)
    geometry_problems([[[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [5.0, 12.0], [0.0, 10.0]]])
    arcs_meet(np.eye(3), [0], [1], [1, 2, 0], 1e-10)
