"""Exact rasterisation of spherical polygons onto an equirect grid.

A pixel is inside iff its centre direction is inside (CONVENTIONS.md).  Each pixel column i is
a half meridian at lon_i = (i + 0.5)/W*360 - 180.  An edge that does not pass through a pole
spans its longitude interval monotonically, so it crosses exactly the half meridians with lon_i
in [lon_lo, lon_hi) (half-open; the first column index of every vertex is computed once, so
neighbouring edges agree exactly and crossing parity is exact).  The crossing latitude is
closed-form on the edge's great circle, and becomes a row count with
``ceil((90 - lat)*H/180 - 0.5)`` (= number of row centres strictly above the crossing).
Walking down a column from the north pole the inside state starts as "is the north pole
inside?" (one point-in-polygon test) and flips at each crossing, which gives per-column runs
without testing pixels.  Work is proportional to the number of (column, edge) crossings, so
only columns within the polygon's longitude span are touched.

Rings with a vertex at a pole or an edge through a pole use a general path: every
(column, edge) pair is intersected with the meridian plane, and the reference state is a
point-in-polygon test at each column's first row centre.

Pixel centres within ~1e-12 rad of an edge may go either way.

Masks are built column-major: the returned (H, W) array is the transpose of a C-contiguous
(W, H) buffer (Fortran order), so each column run is one contiguous memset and the memory
layout is exactly what COCO RLE wants.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .polygons import contains_vec, ring_vectors, validate_geometry
from .vectors import cross3

__all__ = ["column_intervals", "rasterize", "label_map"]


def _is_degenerate(part: list) -> bool:
    """A vertex at a pole or an edge through a pole (lon jump of 180): the pole is then on the
    boundary and the per-edge longitude ranges are undefined; use the general path."""
    for ring in part:
        if np.any(np.abs(ring[:, 1]) >= 90.0):
            return True
        d = np.mod(np.roll(ring[:, 0], -1) - ring[:, 0] + 180.0, 360.0) - 180.0
        if np.any(np.abs(np.abs(d) - 180.0) < 1e-9):
            return True
    return False


def _edge_events(ring: NDArray[np.float64], width: int, height: int) -> tuple[NDArray, NDArray]:
    """(col, row) crossing events of one ring with the pixel-column half meridians.

    An edge that is not through a pole spans a longitude interval monotonically, so it crosses
    exactly the half meridians with lon_i in [lon_lo, lon_hi) (half-open, with the first column
    index ``ceil((lon + 180) W/360 - 0.5)`` computed once per vertex so that neighbouring edges
    agree exactly).  The crossing latitude on the great circle with normal n = a x b at lon L is
    atan(-(n_x sin L + n_z cos L) / n_y).
    """
    lon = ring[:, 0]
    t = np.ceil((lon + 180.0) * (width / 360.0) - 0.5).astype(np.int64)
    lon_b = np.roll(lon, -1)
    t_b = np.roll(t, -1)
    dw = np.mod(lon_b - lon + 180.0, 360.0) - 180.0
    east = dw > 0
    lo = np.where(east, t, t_b)
    hi = np.where(east, t_b + width * (lon_b < lon), t + width * (lon < lon_b))
    counts = np.maximum(hi - lo, 0)
    k = int(counts.sum())
    if k == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e
    edge = np.repeat(np.arange(len(ring)), counts)
    first = np.cumsum(counts) - counts
    col = np.mod(np.repeat(lo, counts) + np.arange(k) - np.repeat(first, counts), width)
    v = ring_vectors(ring)
    n = cross3(v, np.roll(v, -1, axis=0))[edge]
    lam = (col + 0.5) * (2.0 * math.pi / width) - math.pi
    phi = np.arctan(-(n[:, 0] * np.sin(lam) + n[:, 2] * np.cos(lam)) / n[:, 1])
    rows = np.ceil((0.5 * math.pi - phi) * (height / math.pi) - 0.5)
    return col, np.clip(rows, 0, height).astype(np.int64)


def _plane_events(
    ring: NDArray[np.float64], cols: NDArray, width: int, height: int
) -> tuple[NDArray, NDArray]:
    """General (slower) crossing events: every (column, edge) pair is intersected with the
    meridian plane; used for rings touching a pole."""
    lon = np.radians((cols + 0.5) / width * 360.0 - 180.0)
    sl, cl = np.sin(lon), np.cos(lon)
    a = ring_vectors(ring)
    b = np.roll(a, -1, axis=0)
    # signed distance to the meridian plane, normal n = (cos lon, 0, -sin lon); a vertex on
    # the plane counts as on its positive side (half-open rule keeps parity exact)
    na = cl[:, None] * a[None, :, 0] - sl[:, None] * a[None, :, 2]
    nb = np.roll(na, -1, axis=1)
    ci, ei = np.nonzero((na >= 0) != (nb >= 0))
    x = np.abs(nb[ci, ei])[:, None] * a[ei] + np.abs(na[ci, ei])[:, None] * b[ei]
    along = x[:, 0] * sl[ci] + x[:, 2] * cl[ci]  # component towards the half meridian
    keep = along > 0
    ci, x, along = ci[keep], x[keep], along[keep]
    lat = np.arctan2(x[:, 1], along)
    rows = np.ceil((0.5 * math.pi - lat) * (height / math.pi) - 0.5)
    return cols[ci], np.clip(rows, 0, height).astype(np.int64)


def _part_runs(part: list, width: int, height: int) -> tuple[NDArray, NDArray, NDArray]:
    """(col, start, end) runs of one polygon (outer + holes); rows start <= j < end."""
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
        lon0 = np.radians((cols + 0.5) / width * 360.0 - 180.0)
        lat0 = math.radians(90.0 - 90.0 / height)
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
    if c.size == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e, e
    odd = np.bincount(c, minlength=width) % 2 == 1
    if odd.any():  # inside at the bottom of the column (south pole side): close the run
        c = np.concatenate([c, np.nonzero(odd)[0]])
        r = np.concatenate([r, np.full(int(odd.sum()), height, dtype=np.int64)])
    order = np.lexsort((r, c))
    c, r = c[order], r[order]
    c2 = c.reshape(-1, 2)[:, 0]
    r2 = r.reshape(-1, 2)
    keep = r2[:, 1] > r2[:, 0]
    return c2[keep].astype(np.int64), r2[keep, 0], r2[keep, 1]


def _merge(col: NDArray, start: NDArray, end: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Merge overlapping/touching runs within each column (for multi-part geometries)."""
    if len(col) == 0:
        return col, start, end
    order = np.lexsort((start, col))
    col, start, end = col[order], start[order], end[order]
    out_c, out_s, out_e = [int(col[0])], [int(start[0])], [int(end[0])]
    for c, s, e in zip(col[1:].tolist(), start[1:].tolist(), end[1:].tolist(), strict=True):
        if c == out_c[-1] and s <= out_e[-1]:
            out_e[-1] = max(out_e[-1], e)
        else:
            out_c.append(c)
            out_s.append(s)
            out_e.append(e)
    return np.array(out_c), np.array(out_s), np.array(out_e)


def column_intervals(geometry: Any, width: int, height: int) -> NDArray[np.int64]:
    """Runs of inside pixels, shape (n, 3): (col, row_start, row_end) with rows
    row_start <= j < row_end, sorted column-major (by col then row) as COCO RLE needs."""
    g = validate_geometry(geometry)
    runs = [_part_runs(p, width, height) for p in g]
    col = np.concatenate([r[0] for r in runs])
    start = np.concatenate([r[1] for r in runs])
    end = np.concatenate([r[2] for r in runs])
    if len(runs) > 1:
        col, start, end = _merge(col, start, end)
    else:
        order = np.lexsort((start, col))
        col, start, end = col[order], start[order], end[order]
    return np.stack([col, start, end], axis=1).astype(np.int64)


def _fill(buf_t: NDArray, runs: NDArray[np.int64], value: Any) -> None:
    """Write `value` into runs of a C-contiguous (W, H) buffer: each run is one contiguous
    slice (a memset).  (A broadcast fill of the bounding box measured ~5x slower.)"""
    flat = buf_t.reshape(-1)
    h = buf_t.shape[1]
    base = runs[:, 0] * h
    for a, b in zip((base + runs[:, 1]).tolist(), (base + runs[:, 2]).tolist(), strict=True):
        flat[a:b] = value


def rasterize(geometry: Any, width: int, height: int) -> NDArray[np.bool_]:
    """Bool mask (height, width): pixel in iff its centre direction is inside the geometry.

    The result is Fortran-ordered (column-major); use np.ascontiguousarray for C order.
    """
    runs = column_intervals(geometry, width, height)
    buf_t = np.zeros((width, height), dtype=bool)  # lazily zeroed pages; columns contiguous
    _fill(buf_t, runs, True)
    return buf_t.T


def label_map(geometries: list[Any], width: int, height: int) -> NDArray[np.int32]:
    """int32 (height, width) label map: 0 background, k+1 for geometries[k].

    Overlap order: later instances are drawn over earlier ones (painter's order), so a pixel
    inside geometries 2 and 5 gets label 6.  Fortran-ordered like :func:`rasterize`.
    """
    buf_t = np.zeros((width, height), dtype=np.int32)
    for k, geom in enumerate(geometries):
        _fill(buf_t, column_intervals(geom, width, height), k + 1)
    return buf_t.T
