"""Exact rasterisation of spherical polygons onto an equirect grid.

A pixel is inside iff its centre direction is inside (CONVENTIONS.md).  Each pixel column i is
a half meridian at lon_i = (i + 0.5)/W*360 - 180.  For every column and ring edge we intersect
the edge's great-circle arc with the meridian plane analytically (vectorised over columns x
edges), keep crossings on the half meridian, and turn their latitudes into row counts with
``ceil((90 - lat)*H/180 - 0.5)`` (= number of row centres strictly above the crossing).
Walking down a column from the north pole, the inside state starts as "is the north pole
inside?" (one point-in-polygon test) and flips at each crossing, which gives per-column runs
without ever testing pixels.  Only columns within the polygon's longitude span are touched.

Half-open rule: a vertex exactly on a meridian plane counts as on its positive side, so crossing
parity stays right.  Pixel centres within ~1e-12 rad of an edge may go either way.

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

__all__ = ["column_intervals", "rasterize", "label_map"]


def _ring_lon_span(ring: NDArray[np.float64]) -> tuple[float, float] | None:
    """Unwrapped (lon_min, lon_max) covered by a ring's edges, or None if it winds round a pole
    or has an edge through a pole (then every column may be crossed)."""
    lon = ring[:, 0]
    d = np.diff(np.concatenate([lon, lon[:1]]))
    d = np.mod(d + 180.0, 360.0) - 180.0
    if np.any(np.abs(d) > 179.999999) or np.any(np.abs(ring[:, 1]) >= 90.0):
        return None
    u = lon[0] + np.concatenate([[0.0], np.cumsum(d)])
    if abs(u[-1] - u[0]) > 1.0:  # winds around a pole
        return None
    return float(u.min()), float(u.max())


def _columns(g: list, width: int) -> NDArray[np.intp]:
    """Sorted column indices whose half meridian may cross the geometry."""
    cols = []
    for part in g:
        span = _ring_lon_span(part[0])
        if span is None:
            return np.arange(width)
        lo, hi = span
        i0 = math.floor((lo + 180.0) / 360.0 * width - 0.5)
        i1 = math.ceil((hi + 180.0) / 360.0 * width - 0.5)
        if i1 - i0 + 1 >= width:
            return np.arange(width)
        cols.append(np.mod(np.arange(i0, i1 + 1), width))
    if len(cols) == 1:
        return np.sort(cols[0])
    return np.unique(np.concatenate(cols))


def _part_runs(part: list, width: int, height: int) -> tuple[NDArray, NDArray, NDArray]:
    """(col, start, end) runs of one polygon (outer + holes); rows start <= j < end."""
    cols = _columns([part], width)
    lon = np.radians((cols + 0.5) / width * 360.0 - 180.0)
    sl, cl = np.sin(lon), np.cos(lon)
    ev_col = []
    ev_row = []
    for ring in part:
        v = ring_vectors(ring)
        a = v
        b = np.roll(v, -1, axis=0)
        # signed distance to meridian plane, normal n = (cos lon, 0, -sin lon)
        na = cl[:, None] * a[None, :, 0] - sl[:, None] * a[None, :, 2]
        nb = np.roll(na, -1, axis=1)  # b is a shifted by one vertex
        ci, ei = np.nonzero((na >= 0) != (nb >= 0))
        if ci.size == 0:
            continue
        wa = np.abs(nb[ci, ei])
        wb = np.abs(na[ci, ei])
        x = wa[:, None] * a[ei] + wb[:, None] * b[ei]  # on the arc, in the plane
        along = x[:, 0] * sl[ci] + x[:, 2] * cl[ci]  # component towards the half meridian
        keep = along > 0
        ci, x, along = ci[keep], x[keep], along[keep]
        lat = np.degrees(np.arctan2(x[:, 1], along))
        rows = np.ceil((90.0 - lat) * (height / 180.0) - 0.5)
        ev_col.append(ci)
        ev_row.append(np.clip(rows, 0, height).astype(np.int64))
    north_in = bool(contains_vec([part], np.array([[0.0, 1.0, 0.0]]))[0])
    ncol = len(cols)
    if north_in:
        ev_col.append(np.arange(ncol))
        ev_row.append(np.zeros(ncol, dtype=np.int64))
    if not ev_col:
        e = np.empty(0, dtype=np.int64)
        return e, e, e
    c = np.concatenate(ev_col)
    r = np.concatenate(ev_row)
    odd = np.bincount(c, minlength=ncol) % 2 == 1
    if odd.any():  # south pole side open: close at the bottom
        c = np.concatenate([c, np.nonzero(odd)[0]])
        r = np.concatenate([r, np.full(int(odd.sum()), height, dtype=np.int64)])
    order = np.lexsort((r, c))
    c, r = c[order], r[order]
    c2 = c.reshape(-1, 2)[:, 0]
    r2 = r.reshape(-1, 2)
    keep = r2[:, 1] > r2[:, 0]
    return cols[c2[keep]].astype(np.int64), r2[keep, 0], r2[keep, 1]


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
    flat = buf_t.reshape(-1)  # buf_t is C-contiguous (W, H): a column run is a flat slice
    h = buf_t.shape[1]
    base = runs[:, 0] * h
    for s, e in zip((base + runs[:, 1]).tolist(), (base + runs[:, 2]).tolist(), strict=True):
        flat[s:e] = value


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
