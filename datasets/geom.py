"""The one place this app calls the geometry core (``label360.sphere``).

Kept thin: every function forwards to the core, only adapting return shapes, so the
exports, imports and agreement report all agree with the rest of the product.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .rle import Runs, runs_from_intervals


def sphere():
    """The geometry core (imported on first use: it is heavy)."""
    from label360 import sphere as core

    return core


def runs(geometry: list, width: int, height: int, validate: bool = True) -> Runs:
    """Exact pixel runs of a geometry on the W×H equirect grid (no mask materialised).

    ``validate=False`` for stored geometry, which the API validated when it was written.
    """
    intervals = sphere().column_intervals(geometry, width, height, validate=validate)
    return runs_from_intervals(intervals)


def rasterize(geometry: list, width: int, height: int) -> np.ndarray:
    return np.asarray(sphere().rasterize(geometry, width, height), dtype=bool)


def area(geometry: list) -> float:
    """Area on the sphere in steradians."""
    return float(sphere().area(geometry))


def area_of_valid(geometry: list) -> float:
    """Area (sr) of a geometry already validated (stored instances): skips re-validation."""
    from label360.sphere.polygons import as_geometry, polygon_area

    return float(sum(polygon_area(p) for p in as_geometry(geometry)))


def iou(a: list, b: list) -> float:
    return float(sphere().iou(a, b))


def union(geometries: list[list]) -> list:
    """Union of several multipolygons as one multipolygon ([] when empty)."""
    geometries = [g for g in geometries if g]
    if not geometries:
        return []
    return sphere().union(geometries) or []


def intersection(a: list, b: list) -> list:
    if not a or not b:
        return []
    return sphere().intersection(a, b) or []


def problems(geometry: Any) -> list[str]:
    return [str(p) for p in sphere().geometry_problems(geometry)]
