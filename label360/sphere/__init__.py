"""Pure-Python sphere geometry core of Label360 (no Django imports).

Conventions: docs/conventions.md; details and the parity JSON schema: docs/geometry.md.

The image resampling (:mod:`.projection`) and mask tracing (:mod:`.contours`) modules load
OpenCV; their names are exported here but each module is imported on first use of one of
them (module ``__getattr__``), so code that only needs the geometry stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .boolean import difference, intersection, iou, union
from .clipping import geometry_to_view, view_polygon_to_sphere
from .mapcache import MAP_CACHE, MapCache
from .polygons import (
    GeometryError,
    Problem,
    area,
    centroid,
    contains,
    geometry_problems,
    validate_geometry,
)
from .raster import column_intervals, label_map, rasterize
from .vectors import arc_points, lonlat_to_vec, vec_to_lonlat
from .views import FACE_NAMES, View, cube_face_views

if TYPE_CHECKING:
    from .contours import mask_to_geometry
    from .projection import (
        cubemap_to_equirect,
        equirect_to_cubemap,
        equirect_to_view,
        rotate_equirect,
        view_to_equirect,
    )

#: exported names whose module loads OpenCV: name -> submodule, imported on first access
_LAZY = {
    "mask_to_geometry": "contours",
    "cubemap_to_equirect": "projection",
    "equirect_to_cubemap": "projection",
    "equirect_to_view": "projection",
    "rotate_equirect": "projection",
    "view_to_equirect": "projection",
}

__all__ = [
    "FACE_NAMES",
    "MAP_CACHE",
    "GeometryError",
    "MapCache",
    "Problem",
    "View",
    "arc_points",
    "area",
    "centroid",
    "column_intervals",
    "contains",
    "cube_face_views",
    "cubemap_to_equirect",
    "difference",
    "equirect_to_cubemap",
    "equirect_to_view",
    "geometry_problems",
    "geometry_to_view",
    "intersection",
    "iou",
    "label_map",
    "lonlat_to_vec",
    "mask_to_geometry",
    "rasterize",
    "rotate_equirect",
    "union",
    "validate_geometry",
    "vec_to_lonlat",
    "view_polygon_to_sphere",
    "view_to_equirect",
]


def __getattr__(name: str) -> object:
    """The exported names of :data:`_LAZY`, importing their module on first access."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
