"""The one place this app calls the geometry core (``label360.sphere``).

Kept thin: every function forwards to the core, only adapting return shapes, so the
exports, imports and agreement report all agree with the rest of the product.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .rle import Runs, runs_from_intervals

_SUBMODULES = ("raster", "polygons", "boolean", "ops", "clip", "contours", "views", "projection")


class _Core:
    """``label360.sphere`` with a fallback to its submodules while its ``__init__`` grows."""

    def __getattr__(self, name: str):
        import importlib

        package = importlib.import_module("label360.sphere")
        if hasattr(package, name):
            return getattr(package, name)
        for sub in _SUBMODULES:
            try:
                module = importlib.import_module(f"label360.sphere.{sub}")
            except ImportError:
                continue
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"label360.sphere has no {name}")


_CORE = _Core()


def sphere():
    """The geometry core, imported lazily (it is heavy)."""
    return _CORE


def runs(geometry: list, width: int, height: int) -> Runs:
    """Exact pixel runs of a geometry on the W×H equirect grid (no mask materialised)."""
    return runs_from_intervals(sphere().column_intervals(geometry, width, height))


def rasterize(geometry: list, width: int, height: int) -> np.ndarray:
    return np.asarray(sphere().rasterize(geometry, width, height), dtype=bool)


def area(geometry: list) -> float:
    """Area on the sphere in steradians."""
    return float(sphere().area(geometry))


def area_of_valid(geometry: list) -> float:
    """Area (sr) of a geometry already validated (e.g. by :func:`runs`): skips re-validation."""
    core = sphere()
    return float(sum(core.polygon_area(p) for p in core.as_geometry(geometry)))


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
