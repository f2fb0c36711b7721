"""Exact rasterisation of spherical polygons onto an equirect grid.

A pixel is inside iff its centre direction is inside (CONVENTIONS.md).  Each pixel column c
is a half meridian at lon_c = (c + 0.5)/W*360 - 180 (the float value of that formula).  An
edge that does not pass through a pole spans its longitude interval monotonically, so it
crosses exactly the columns with lon_lo <= lon_c < lon_hi (half-open).  The column range of
every vertex is found by an exact comparison with the float column centres
(``searchsorted``), once per vertex, so neighbouring edges agree exactly and the crossing
parity is exact.  An edge along a meridian (lon_lo == lon_hi) crosses no column, and an edge
whose longitudes differ by an ulp crosses at most the one column at its lower longitude.

Tie rule (measure-zero cases, fixed so that results are reproducible): a pixel centre is
classified as if moved infinitesimally EAST, then infinitesimally SOUTH.  Hence a centre on a
meridian edge is inside iff the polygon lies east of that edge, and a crossing at exactly a
row centre's latitude counts as above it.  The meridian rule is exact (longitudes are only
compared); the row rule is exact where the crossing is a vertex (its latitude is used as
given), elsewhere crossing latitudes carry ~1e-16 relative rounding.

The crossing point of the edge a->b with column c's meridian plane (normal
(cos L, 0, -sin L)) is the convex combination |n.b| a + |n.a| b - always on the arc, even for
near-meridian edges - and its latitude becomes a row count = number of row centres strictly
north of it.  Walking down a column from the north pole the inside state starts as "is the
north pole inside?" (one point-in-polygon test) and flips at each crossing, which gives
per-column runs without testing pixels.  Work is proportional to the number of
(column, edge) crossings, computed edge by edge over only the columns each edge spans.

Rings with a vertex at a pole or an edge through a pole use a general path: every
(column, edge) pair is tested against the meridian plane (vertex sides by longitude
comparison, the same east rule), and each column's reference state is a point-in-polygon test
at its first row centre.

Masks are built column-major: the returned (H, W) array is the transpose of a C-contiguous
(W, H) buffer (Fortran order), so each column run is one contiguous memset and the memory
layout is exactly what COCO RLE wants.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .polygons import as_geometry, contains_vec, ring_vectors, validate_geometry

__all__ = ["column_intervals", "row_intervals", "rasterize", "label_map"]


@functools.lru_cache(maxsize=16)
def _columns(width: int) -> tuple[NDArray, NDArray, NDArray]:
    """Column-centre longitudes (deg, exact float formula of CONVENTIONS.md), sin and cos."""
    lon = (np.arange(width) + 0.5) / width * 360.0 - 180.0
    rad = np.radians(lon)
    return lon, np.sin(rad), np.cos(rad)


@functools.lru_cache(maxsize=16)
def _rows(height: int) -> NDArray:
    """Row-centre latitudes (deg), padded: [+inf, lat_0, ..., lat_{H-1}, -inf]."""
    lat = 90.0 - (np.arange(height) + 0.5) / height * 180.0
    return np.concatenate([[np.inf], lat, [-np.inf]])


def _rows_above(lat_deg: NDArray, height: int) -> NDArray[np.int64]:
    """Number of row centres strictly north of each latitude (exact against the float row
    centres: a closed-form guess corrected by one comparison on each side)."""
    ext = _rows(height)
    r = np.ceil((90.0 - lat_deg) * (height / 180.0) - 0.5)
    r = np.clip(r, 0, height).astype(np.int64)
    r += ext[r + 1] > lat_deg  # row r is still north: count it
    r -= ext[r] <= lat_deg  # row r-1 is not north: do not count it
    return r


def _is_degenerate(part: list) -> bool:
    """A vertex at a pole or an edge through a pole (lon jump of 180): the pole is then on the
    boundary and the per-edge longitude ranges are undefined; use the general path."""
    for ring in part:
        if np.any(np.abs(ring[:, 1]) >= 90.0):
            return True
        d = np.abs(np.roll(ring[:, 0], -1) - ring[:, 0])
        if np.any(np.abs(d - 180.0) < 1e-9):
            return True
    return False


def _edge_events(ring: NDArray[np.float64], width: int, height: int) -> tuple[NDArray, NDArray]:
    """(col, row) crossing events of one ring (no vertex at a pole, no edge through a pole)."""
    lon_c, sin_c, cos_c = _columns(width)
    lon = ring[:, 0]
    lat = ring[:, 1]
    t = np.searchsorted(lon_c, lon, side="left")  # columns with centre lon < lon
    lon_b = np.roll(lon, -1)
    t_b = np.roll(t, -1)
    d = lon_b - lon  # exact sign; |d| > 180 means the edge crosses the seam
    east = (d > 0) != (np.abs(d) > 180.0)
    lo = np.where(east, t, t_b)
    hi = np.where(east, t_b + width * (d < 0), t + width * (d > 0))
    counts = np.where(d == 0, 0, hi - lo)
    k = int(counts.sum())
    if k == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e
    n = len(ring)
    first = np.cumsum(counts) - counts
    edge = np.repeat(np.arange(n), counts)
    col = np.repeat(lo - first, counts) + np.arange(k)
    if int(hi.max()) > width:
        col %= width
    a = ring_vectors(ring)
    b = np.roll(a, -1, axis=0)
    sl, cl = sin_c[col], cos_c[col]
    ae, be = a[edge], b[edge]
    da = np.abs(cl * ae[:, 0] - sl * ae[:, 2])
    db = np.abs(cl * be[:, 0] - sl * be[:, 2])
    both0 = (da + db) == 0  # both ends on the plane (ulp-wide edge): use the midpoint
    if both0.any():
        da[both0] = db[both0] = 1.0
    x = db[:, None] * ae + da[:, None] * be
    lat_x = np.degrees(np.arctan2(x[:, 1], sl * x[:, 0] + cl * x[:, 2]))
    # exact ties: the column through the edge's western vertex crosses it at that vertex
    lo_lon = np.where(east, lon, lon_b)
    lo_lat = np.where(east, lat, np.roll(lat, -1))
    has = counts > 0
    at_v = has & (lon_c[lo % width] == lo_lon)
    if at_v.any():
        lat_x[first[at_v]] = lo_lat[at_v]
    return col, _rows_above(lat_x, height)


def _plane_events(
    ring: NDArray[np.float64], cols: NDArray, width: int, height: int
) -> tuple[NDArray, NDArray]:
    """General (slower) crossing events: every (column, edge) pair is tested against the
    meridian plane; used for rings touching a pole."""
    lon_c, sin_c, cos_c = _columns(width)
    sl, cl = sin_c[cols], cos_c[cols]
    a = ring_vectors(ring)
    b = np.roll(a, -1, axis=0)
    # side of the plane by longitude (east rule: the column is at lon_c + 0):
    # positive iff 0 < lon - lon_c <= 180 or lon - lon_c <= -180
    x = ring[None, :, 0] - lon_c[cols, None]
    pos = ((x > 0) & (x <= 180.0)) | (x <= -180.0)
    ci, ei = np.nonzero(pos != np.roll(pos, -1, axis=1))
    na = np.abs(cl[ci] * a[ei, 0] - sl[ci] * a[ei, 2])
    nb = np.abs(cl[ci] * b[ei, 0] - sl[ci] * b[ei, 2])
    xv = nb[:, None] * a[ei] + na[:, None] * b[ei]
    along = xv[:, 0] * sl[ci] + xv[:, 2] * cl[ci]  # component towards the half meridian
    keep = (along > 0) & ((na + nb) > 0)
    ci, xv, along = ci[keep], xv[keep], along[keep]
    lat = np.degrees(np.arctan2(xv[:, 1], along))
    return cols[ci], _rows_above(lat, height)


def _part_events(part: list, width: int, height: int) -> tuple[NDArray, NDArray]:
    """(col, row) toggle events of one polygon (outer + holes); each column has an even
    number of them after closing at row H."""
    ev_col: list[NDArray] = []
    ev_row: list[NDArray] = []
    if not _is_degenerate(part):
        for ring in part:
            c, r = _edge_events(ring, width, height)
            ev_col.append(c)
            ev_row.append(r)
        # State at the top of every column = is the north pole inside?
        if contains_vec([part], np.array([[0.0, 1.0, 0.0]]))[0]:
            ev_col.append(np.arange(width))
            ev_row.append(np.zeros(width, dtype=np.int64))
    else:
        cols = np.arange(width)
        for ring in part:
            c, r = _plane_events(ring, cols, width, height)
            keep = r > 0  # crossings above row 0's centre are in the reference state below
            ev_col.append(c[keep])
            ev_row.append(r[keep])
        lon0 = np.radians(_columns(width)[0])
        lat0 = math.radians(_rows(height)[1])
        top = np.stack(
            [
                math.cos(lat0) * np.sin(lon0),
                np.full(width, math.sin(lat0)),
                math.cos(lat0) * np.cos(lon0),
            ],
            axis=1,
        )
        start = np.nonzero(contains_vec([part], top))[0]
        ev_col.append(start)
        ev_row.append(np.zeros(len(start), dtype=np.int64))
    c = np.concatenate(ev_col)
    r = np.concatenate(ev_row)
    return c, r


def _runs_from_events(
    c: NDArray, r: NDArray, width: int, height: int
) -> tuple[NDArray, NDArray, NDArray]:
    """Sorted (col, start, end) runs from toggle events (pairs after sorting)."""
    if c.size == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e, e
    key = c * (height + 1) + r
    odd = np.bincount(c, minlength=width) & 1
    if odd.any():  # inside at the bottom of the column (south pole side): close the run
        oc = np.nonzero(odd)[0]
        key = np.concatenate([key, oc * (height + 1) + height])
    key.sort()
    key = key.reshape(-1, 2)
    keep = key[:, 1] > key[:, 0]
    key = key[keep]
    col = key[:, 0] // (height + 1)
    return col, key[:, 0] - col * (height + 1), key[:, 1] - col * (height + 1)


def _merge(col: NDArray, start: NDArray, end: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Merge overlapping/touching runs within each column (for multi-part geometries)."""
    if len(col) == 0:
        return col, start, end
    order = np.lexsort((start, col))
    col, start, end = col[order], start[order], end[order]
    # running max of ends within each column; a run starts a new group unless it overlaps
    big = np.int64(end.max() + 1)
    key_end = np.maximum.accumulate(col * big + end)  # monotone: col-major running max
    prev_end = np.concatenate([[-1], key_end[:-1] - col[:-1] * big])
    same_col = np.concatenate([[False], col[1:] == col[:-1]])
    new = ~(same_col & (start <= prev_end))
    grp = np.cumsum(new) - 1
    g_col = col[new]
    g_start = start[new]
    g_end = np.zeros(len(g_col), dtype=np.int64)
    np.maximum.at(g_end, grp, end)
    return g_col, g_start, g_end


def _geometry(geometry: Any, validate: bool) -> list:
    return validate_geometry(geometry) if validate else as_geometry(geometry)


def _intervals(g: list, width: int, height: int) -> tuple[NDArray, NDArray, NDArray]:
    if len(g) == 1:
        c, r = _part_events(g[0], width, height)
        return _runs_from_events(c, r, width, height)
    runs = [_runs_from_events(*_part_events(p, width, height), width, height) for p in g]
    if not runs:
        e = np.empty(0, dtype=np.int64)
        return e, e, e
    col = np.concatenate([r[0] for r in runs])
    start = np.concatenate([r[1] for r in runs])
    end = np.concatenate([r[2] for r in runs])
    return _merge(col, start, end)


def column_intervals(
    geometry: Any, width: int, height: int, *, validate: bool = True
) -> NDArray[np.int64]:
    """Runs of inside pixels, shape (n, 3): (col, row_start, row_end) with rows
    row_start <= j < row_end, sorted column-major (by col then row) as COCO RLE needs.

    validate=False skips :func:`validate_geometry` (only the normalisation is done): use it
    for geometry that was validated when stored; invalid input then gives undefined masks.
    """
    col, start, end = _intervals(_geometry(geometry, validate), width, height)
    return np.stack([col, start, end], axis=1).astype(np.int64, copy=False)


def _fill(buf_t: NDArray, col: NDArray, start: NDArray, end: NDArray, value: Any) -> None:
    """Write `value` into runs of a C-contiguous (W, H) buffer.

    Usually (runs cover at least half of the columns of their bounding box) the bounding box
    block is built in one go as a run-length decode (np.repeat of alternating False/True over
    the block's column-major run boundaries) and copied in; otherwise (e.g. an object across
    the seam, whose bounding box is the full width) each run is one contiguous slice.
    """
    if len(col) == 0:
        return
    c0, c1 = int(col[0]), int(col[-1]) + 1
    if 2 * len(col) < c1 - c0:
        flat = buf_t.reshape(-1)
        h = buf_t.shape[1]
        base = col * h
        for a, b in zip((base + start).tolist(), (base + end).tolist(), strict=True):
            flat[a:b] = value
        return
    r0, r1 = int(start.min()), int(end.max())
    bh = r1 - r0
    base = (col - c0) * bh - r0
    pos = np.empty(2 * len(col) + 2, dtype=np.int64)
    pos[0] = 0
    pos[1:-1:2] = base + start
    pos[2:-1:2] = base + end
    pos[-1] = (c1 - c0) * bh
    alt = np.zeros(len(pos) - 1, dtype=bool)
    alt[1::2] = True
    block = np.repeat(alt, np.diff(pos)).reshape(c1 - c0, bh)
    if buf_t.dtype == bool and value is True:
        buf_t[c0:c1, r0:r1] |= block
    else:
        np.copyto(buf_t[c0:c1, r0:r1], value, where=block)


def rasterize(
    geometry: Any, width: int, height: int, *, validate: bool = True
) -> NDArray[np.bool_]:
    """Bool mask (height, width): pixel in iff its centre direction is inside the geometry.

    The result is Fortran-ordered (column-major); use np.ascontiguousarray for C order.
    validate=False: see :func:`column_intervals`.
    """
    col, start, end = _intervals(_geometry(geometry, validate), width, height)
    buf_t = np.zeros((width, height), dtype=bool)  # lazily zeroed pages; columns contiguous
    _fill(buf_t, col, start, end, True)
    return buf_t.T


def row_intervals(
    geometry: Any, width: int, height: int, *, validate: bool = True
) -> NDArray[np.int64]:
    """Runs of inside pixels along rows, shape (n, 3): (row, col_start, col_end) with columns
    col_start <= i < col_end, sorted row-major.  Runs are not wrapped: an object across the
    seam gives a run ending at W and one starting at 0."""
    g = _geometry(geometry, validate)
    col, start, end = _intervals(g, width, height)
    if len(col) == 0:
        return np.empty((0, 3), dtype=np.int64)
    c0, c1 = int(col.min()), int(col.max()) + 1
    r0, r1 = int(start.min()), int(end.max())
    block = np.zeros((r1 - r0, c1 - c0 + 2), dtype=np.int8)  # C order, a zero column each side
    mask_t = np.zeros((c1 - c0, r1 - r0), dtype=bool)
    for c, s, e in zip(
        (col - c0).tolist(), (start - r0).tolist(), (end - r0).tolist(), strict=True
    ):
        mask_t[c, s:e] = True
    block[:, 1:-1] = mask_t.T
    d = np.diff(block, axis=1)
    rs, cs = np.nonzero(d == 1)
    re, ce = np.nonzero(d == -1)
    # nonzero is row-major, so starts and ends pair up in order
    assert len(rs) == len(re)
    return np.stack([rs + r0, cs + c0, ce + c0], axis=1).astype(np.int64)


def label_map(
    geometries: list[Any], width: int, height: int, *, validate: bool = True
) -> NDArray[np.int32]:
    """int32 (height, width) label map: 0 background, k+1 for geometries[k].

    Overlap order: later instances are drawn over earlier ones (painter's order), so a pixel
    inside geometries 2 and 5 gets label 6.  Fortran-ordered like :func:`rasterize`.
    """
    buf_t = np.zeros((width, height), dtype=np.int32)
    for k, geom in enumerate(geometries):
        col, start, end = _intervals(_geometry(geom, validate), width, height)
        _fill(buf_t, col, start, end, k + 1)
    return buf_t.T
