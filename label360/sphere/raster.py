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
north pole inside?" and flips at each crossing, which gives per-column runs without testing
pixels.  The pole state comes from the same longitude steps (winding number about the pole
axis, and the sign of the ring's area when it winds), so it agrees with the crossings by
construction.  Work is proportional to the number of (column, edge) crossings, computed edge
by edge over only the columns each edge spans.

Rings with a vertex at a pole or an edge through a pole use a general path: every
(column, edge) pair is tested against the meridian plane (vertex sides by longitude
comparison, the same east rule).  The reference state is a point-in-polygon test at a pole the
geometry does not touch (the south pole, flipped by each column's crossings below row 0's
centre, or the north pole); only when both poles are on the boundary is each column's first
row centre tested directly (a centre exactly on the boundary there may go either way).

``validate=True`` (the default) gives exactly :func:`validate_geometry`'s result or error, but
parts made of one ring first go through a conservative compiled pre-check
(:func:`label360.sphere.kernels.ring_clearly_valid`) and skip the full validation when it
clearly passes.

Masks are built column-major: the returned (H, W) array is the transpose of a C-contiguous
(W, H) buffer (Fortran order), so each column run is one contiguous memset (a compiled loop,
:func:`label360.sphere.kernels.fill_runs`) and the memory layout is exactly what COCO RLE
wants.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .kernels import edge_crossings, fill_runs, ring_clearly_valid, rows_above, runs_from_events
from .polygons import (
    GeometryError,
    as_geometry,
    contains_vec,
    ring_signed_area,
    ring_vectors,
    validate_geometry,
)

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


def _ring_edges(ring: NDArray[np.float64]) -> tuple[NDArray, NDArray, NDArray]:
    """(ext, d, vec): the ring closed by repeating its first vertex (n+1, 2), the longitude
    step of each edge (n,) (exact float difference, not wrapped) and the unit vectors
    ring_vectors(ring) closed alike (n+1, 3), so that edge k runs ext[k] -> ext[k+1]."""
    ext = np.concatenate([ring, ring[:1]])
    d = ext[1:, 0] - ext[:-1, 0]
    v = ring_vectors(ring)
    return ext, d, np.concatenate([v, v[:1]])


def _ring_degenerate(ext: NDArray, d: NDArray) -> bool:
    """A vertex at a pole or an edge through a pole (lon jump of 180): the pole is then on the
    boundary and the per-edge longitude ranges are undefined; use the general path."""
    return bool((np.abs(ext[:, 1]) >= 90.0).any() or (np.abs(np.abs(d) - 180.0) < 1e-9).any())


def _poles_touched(part: list) -> tuple[bool, bool]:
    """(north, south): is that pole a vertex of a ring or on one of its edges (a longitude
    jump of 180 runs over the pole on the side of its ends' mean latitude)?"""
    north = south = False
    for ring in part:
        lat = ring[:, 1]
        lat_b = np.roll(lat, -1)
        d = np.roll(ring[:, 0], -1) - ring[:, 0]
        over = np.abs(np.abs(d) - 180.0) < 1e-9
        north |= bool((lat >= 90.0).any() or (over & (lat + lat_b >= 0)).any())
        south |= bool((lat <= -90.0).any() or (over & (lat + lat_b <= 0)).any())
    return north, south


def _north_pole_in_ring(d: NDArray, vec: NDArray) -> bool:
    """Is the north pole strictly inside a ring with no vertex at a pole and no edge through
    a pole?  Each edge sweeps its wrapped longitude step monotonically, so the steps sum to
    360 x (winding number about the pole axis): 0 means the pole is outside.  Otherwise the
    ring separates the poles and has the north pole on its left (winding +1, east is
    counter-clockwise seen from above the pole) or right; the interior is the smaller side,
    which is on the left iff the signed area is positive.  Consistent by construction with
    the column crossings (the same longitude steps decide which columns an edge crosses)."""
    step = d - 360.0 * (d > 180.0) + 360.0 * (d < -180.0)
    wind = round(float(step.sum()) / 360.0)
    if wind == 0:
        return False
    return (wind > 0) == (ring_signed_area(vec[:-1]) > 0)


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
    return cols[ci], rows_above(lat, _rows(height), height)


def _part_events(part: list, width: int, height: int) -> tuple[NDArray, NDArray]:
    """(col, row) toggle events of one polygon (outer + holes); each column has an even
    number of them after closing at row H."""
    ev_col: list[NDArray] = []
    ev_row: list[NDArray] = []
    edges = [_ring_edges(ring) for ring in part]
    if not any(_ring_degenerate(ext, d) for ext, d, _ in edges):
        for ext, d, vec in edges:
            c, r = edge_crossings(ext, d, vec, *_columns(width), _rows(height), height)
            ev_col.append(c)
            ev_row.append(r)
        # State at the top of every column = is the north pole inside?
        north = _north_pole_in_ring(*edges[0][1:]) and not any(
            _north_pole_in_ring(d, vec) for _, d, vec in edges[1:]
        )
        if north:
            ev_col.append(np.arange(width))
            ev_row.append(np.zeros(width, dtype=np.int64))
    else:
        cols = np.arange(width)
        flip_top = np.zeros(width, dtype=np.int64)  # crossings above row 0's centre
        for ring in part:
            c, r = _plane_events(ring, cols, width, height)
            keep = r > 0  # crossings above row 0's centre are in the reference state below
            ev_col.append(c[keep])
            ev_row.append(r[keep])
            flip_top += np.bincount(c[~keep], minlength=width)
        north_on, south_on = _poles_touched(part)
        if not south_on:
            # reference: the south pole (off the boundary), below every row; walking north,
            # every kept crossing (r >= 1: strictly below row 0's centre) flips the state
            below = np.bincount(np.concatenate(ev_col), minlength=width) & 1
            top = below.astype(bool) ^ contains_vec([part], np.array([[0.0, -1.0, 0.0]]))[0]
        elif not north_on:
            # reference: the north pole, above every row; crossings with r == 0 flip it
            north = contains_vec([part], np.array([[0.0, 1.0, 0.0]]))[0]
            top = (flip_top & 1).astype(bool) ^ north
        else:
            # both poles on the boundary: test each column's first row centre directly (a
            # centre exactly on the boundary there may go either way)
            lon0 = np.radians(_columns(width)[0])
            lat0 = math.radians(_rows(height)[1])
            ref = np.stack(
                [
                    math.cos(lat0) * np.sin(lon0),
                    np.full(width, math.sin(lat0)),
                    math.cos(lat0) * np.cos(lon0),
                ],
                axis=1,
            )
            top = contains_vec([part], ref)
        start = np.nonzero(top)[0]
        ev_col.append(start)
        ev_row.append(np.zeros(len(start), dtype=np.int64))
    c = np.concatenate(ev_col)
    r = np.concatenate(ev_row)
    return c, r


def _runs_from_events(
    c: NDArray, r: NDArray, width: int, height: int
) -> tuple[NDArray, NDArray, NDArray]:
    """Sorted (col, start, end) runs from toggle events (pairs after sorting each column)."""
    return runs_from_events(
        np.asarray(c, dtype=np.int64), np.asarray(r, dtype=np.int64), width, height
    )


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
    """Normalised geometry; with validate, exactly :func:`validate_geometry`'s result or
    error (parts that are one ring clearly valid by :func:`ring_clearly_valid` skip it)."""
    if not validate:
        g = as_geometry(geometry)
        # the one check kept without validation: NaN/inf would make the compiled loops'
        # results meaningless, so refuse them clearly (costs ~1 us a ring)
        for pi, part in enumerate(g):
            for ri, ring in enumerate(part):
                if not np.isfinite(ring).all():
                    raise GeometryError("vertex is NaN or infinite", pi, ri)
        return g
    try:
        g = as_geometry(geometry)
        fast = all(len(part) == 1 and ring_clearly_valid(part[0]) for part in g)
    except GeometryError:
        fast = False
    return g if fast else validate_geometry(geometry)


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


def rasterize(
    geometry: Any, width: int, height: int, *, validate: bool = True
) -> NDArray[np.bool_]:
    """Bool mask (height, width): pixel in iff its centre direction is inside the geometry.

    The result is Fortran-ordered (column-major); use np.ascontiguousarray for C order.
    validate=False: see :func:`column_intervals`.
    """
    col, start, end = _intervals(_geometry(geometry, validate), width, height)
    buf_t = np.zeros((width, height), dtype=bool)  # lazily zeroed pages; columns contiguous
    fill_runs(buf_t, col, start, end, True)
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
    fill_runs(mask_t, col - c0, start - r0, end - r0, True)
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
        fill_runs(buf_t, col, start, end, np.int32(k + 1))
    return buf_t.T
