"""Pure-Python sphere geometry core of Label360 (no Django imports).

Conventions: docs/conventions.md; details and the parity JSON schema: docs/geometry.md.
"""

from .boolean import difference, intersection, iou, union
from .clipping import geometry_to_view, view_polygon_to_sphere
from .contours import mask_to_geometry
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
from .projection import (
    cubemap_to_equirect,
    equirect_to_cubemap,
    equirect_to_view,
    rotate_equirect,
    view_to_equirect,
)
from .raster import column_intervals, label_map, rasterize
from .vectors import arc_points, lonlat_to_vec, vec_to_lonlat
from .views import FACE_NAMES, View, cube_face_views

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
