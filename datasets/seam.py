"""Objects across the ±180° seam, split into their two halves for plain COCO consumers.

On an equirect image an object across lon ±180 has pixels at both the left and the right
edge, so its plain COCO box spans the whole width. The ``seam='split'`` export writes such an
object as two annotations instead: the part with lon in [0, 180] (at the right edge of the
image) and the part with lon in [-180, 0] (at the left edge).

The parts are cut on the sphere with the geometry core's half-space clipping
(``label360.sphere.clipping.clip_ring_halfspaces``) by the great circle x = 0, which holds the
seam meridian (lon ±180) and the prime meridian (lon 0). No pixel centre lies on that circle
(centres are at lon = (i + 0.5)/W·360 − 180, never 0 or ±180 for even W), so every pixel of
the object is in exactly one part: the parts' masks partition the object's mask, column for
column (columns < W/2 west, ≥ W/2 east). :func:`split_runs` checks exactly that and reports
any difference; the exporter then falls back to cutting the runs by column, which is exact by
construction, and counts it.

A hole cut by the seam leaves each part with a hole that touches its outer ring along the
cut: not a geometry the API would store, but the parts are only rasterised (crossing parity,
exact) and measured (outer minus holes), both unaffected, and are never stored.

An object that also crosses lon 0 (wider than 180° of longitude without covering a pole) is
cut there as well; the cut is still exact. Objects over a pole cover every column and are
not split (their box is the full width either way).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import geom
from .rle import Runs

#: East (lon in [0, 180]) and west (lon in [-180, 0]) half-spaces n · v >= 0.
EAST = np.array([1.0, 0.0, 0.0])
WEST = np.array([-1.0, 0.0, 0.0])
#: Consecutive clipped vertices closer than this (chord) are one vertex.
_SAME = 1e-15


def clip_half(geometry: list, normal: np.ndarray) -> list:
    """The part of a (stored, valid) geometry in the hemisphere n · v >= 0, as a geometry
    ([[outer, hole, ...], ...] of [lon, lat]); parts or holes left with fewer than three
    vertices are dropped (they hold no area)."""
    from label360.sphere.clipping import clip_ring_halfspaces
    from label360.sphere.polygons import as_geometry, ring_vectors

    out = []
    for polygon in as_geometry(geometry):
        rings = []
        for k, ring in enumerate(polygon):
            clipped = _dedupe(clip_ring_halfspaces(ring_vectors(ring), [normal]))
            if len(clipped) < 3:
                if k == 0:
                    break  # the outer ring is gone: so is the part
                continue
            lon, lat = geom.sphere().vec_to_lonlat(clipped)
            rings.append([[float(x), float(y)] for x, y in zip(lon, lat, strict=True)])
        if rings:
            out.append(rings)
    return out


def _dedupe(v: np.ndarray) -> np.ndarray:
    """Drop vertices equal to their predecessor (a vertex exactly on the cut is emitted twice
    by Sutherland-Hodgman) and a last vertex equal to the first."""
    if len(v) < 2:
        return v
    keep = np.ones(len(v), dtype=bool)
    keep[1:] = np.linalg.norm(np.diff(v, axis=0), axis=1) > _SAME
    v = v[keep]
    if len(v) > 1 and np.linalg.norm(v[-1] - v[0]) <= _SAME:
        v = v[:-1]
    return v


def crosses_seam(bbox_wrapped: list[int], width: int) -> bool:
    """Does the tightest box on the cylinder continue past the right edge (x + w > W)?"""
    return bbox_wrapped[0] + bbox_wrapped[2] > width


def column_halves(runs: Runs, width: int) -> tuple[Runs, Runs]:
    """(west, east) runs: columns < W/2 and >= W/2 (the exact partition of the mask)."""
    east = runs.cols >= width // 2
    west = ~east
    return (
        Runs(runs.cols[west], runs.starts[west], runs.ends[west]),
        Runs(runs.cols[east], runs.starts[east], runs.ends[east]),
    )


def _same_runs(a: Runs, b: Runs) -> bool:
    return (
        np.array_equal(a.cols, b.cols)
        and np.array_equal(a.starts, b.starts)
        and np.array_equal(a.ends, b.ends)
    )


def split_runs(
    geometry: list, runs: Runs, width: int, height: int
) -> tuple[list[tuple[list, Runs]], bool]:
    """([(west geometry, west runs), (east geometry, east runs)], exact).

    The parts' runs are the rasterised clipped geometries; ``exact`` says they equal the
    column partition of ``runs`` (the original mask). When they do not, the column partition
    is returned in their place (exact by construction) and ``exact`` is False."""
    parts = []
    exact = True
    for normal, expected in zip((WEST, EAST), column_halves(runs, width), strict=True):
        piece = clip_half(geometry, normal)
        got = geom.runs(piece, width, height, validate=False) if piece else None
        if got is None or not _same_runs(got, expected):
            exact = False
            got = expected
        parts.append((piece, got))
    return parts, exact


def part_area(geometry: Any) -> float:
    """Spherical area (sr) of a clipped part (its rings come from a valid geometry)."""
    return geom.area_of_valid(geometry) if geometry else 0.0
