"""Pixel-space shapes on an equirect image → spherical polygons, with every input checked first.

Coordinates are continuous image coordinates (the left edge of column 0 is x = 0, pixel
(i, j) covers [i, i+1) × [j, j+1)), mapped to the sphere by CONVENTIONS.md:
``lon = x / W · 360 − 180``, ``lat = 90 − y / H · 180``.

**Checked before use.** Every coordinate must be a finite number within the image ± a margin
of ``MARGIN_PX`` (then clamped to the image), a polygon has at most
``MAX_GEOMETRY_VERTICES`` points, and an RLE must describe exactly one H×W mask (decoded here,
:mod:`datasets.rle`): no native library ever sees unchecked input, and no input can make the
work below large.

**Polygons** (COCO polygons, LabelMe polygons and rectangles) have edges that are straight in
PIXEL space, which are curves on the sphere. They are converted vertex by vertex: an edge is
split (at its pixel midpoint, recursively) only where the great-circle arc between its ends
strays more than ``tolerance_px`` from the straight pixel segment, or is longer than
``MAX_ARC_DEG`` — so edges along a column (meridians) stay one arc, and an outline keeps
about its own number of vertices. Vertices on the top or bottom row are the pole; a spur to
the pole and back (the top edge of a polygon covering the pole) is removed, so a cap around a
pole is one ring. The pieces of one object (a COCO annotation's polygons, e.g. the two halves
of an object across the image's left and right edges) are merged with the geometry core's
``union``, so an object across the seam comes back as one part. A polygon covering more than a
hemisphere cannot be one ring (its interior would be the other side): the spherical area is
compared with the pixel polygon's, and such shapes go through the mask path instead.

**Masks** (COCO RLE, LabelMe masks, and the fallback above) go through the geometry core's
``mask_to_geometry`` on a crop around the object (rolled so that it does not cross the seam),
never on a whole-image mask.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from label360.sphere.polygons import MAX_GEOMETRY_VERTICES, MAX_RINGS

from .. import geom
from ..rle import RleError, Runs, rle_runs

#: Coordinates may lie this far (pixels) outside the image (annotation tools round outwards).
MARGIN_PX = 2.0
#: Longest arc kept without splitting (degrees): keeps the midpoint test meaningful.
MAX_ARC_DEG = 10.0
#: Splitting depth limit (an edge becomes at most 2**depth arcs).
_MAX_DEPTH = 16


class ShapeError(ValueError):
    """A shape that cannot be imported (the message says why, in the user's terms)."""


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def check_points(points: Any, width: int, height: int) -> np.ndarray:
    """(n, 2) float array of [x, y] points, each finite and within the image ± MARGIN_PX
    (then clamped to the image); ShapeError otherwise."""
    if not isinstance(points, list):
        raise ShapeError("points must be a list of [x, y] pairs")
    if len(points) > MAX_GEOMETRY_VERTICES:
        raise ShapeError(f"{len(points)} points; at most {MAX_GEOMETRY_VERTICES} are allowed")
    for k, p in enumerate(points):
        if not isinstance(p, list | tuple) or len(p) != 2 or not (_number(p[0]) and _number(p[1])):
            raise ShapeError(f"point {k} is not an [x, y] pair of numbers")
    return _bounded(np.array(points, dtype=np.float64).reshape(-1, 2), width, height)


def check_flat_polygon(flat: Any, width: int, height: int) -> np.ndarray:
    """A COCO polygon [x0, y0, x1, y1, ...] as an (n, 2) array, checked like check_points."""
    if not isinstance(flat, list) or len(flat) < 6 or len(flat) % 2:
        raise ShapeError("a polygon is a flat list [x0, y0, x1, y1, ...] of at least 3 points")
    if len(flat) > 2 * MAX_GEOMETRY_VERTICES:
        raise ShapeError(f"{len(flat) // 2} points; at most {MAX_GEOMETRY_VERTICES} are allowed")
    if not all(_number(x) for x in flat):
        raise ShapeError("polygon coordinates must be numbers")
    return _bounded(np.array(flat, dtype=np.float64).reshape(-1, 2), width, height)


def _bounded(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    if not np.isfinite(xy).all():
        k = int(np.nonzero(~np.isfinite(xy).all(axis=1))[0][0])
        raise ShapeError(f"point {k} is not finite")
    out = (
        (xy[:, 0] < -MARGIN_PX)
        | (xy[:, 0] > width + MARGIN_PX)
        | (xy[:, 1] < -MARGIN_PX)
        | (xy[:, 1] > height + MARGIN_PX)
    )
    if out.any():
        k = int(np.nonzero(out)[0][0])
        raise ShapeError(
            f"point {k} ({xy[k, 0]:g}, {xy[k, 1]:g}) lies outside the {width}×{height} image"
        )
    xy[:, 0] = np.clip(xy[:, 0], 0.0, float(width))
    xy[:, 1] = np.clip(xy[:, 1], 0.0, float(height))
    return xy


def pixel_to_lonlat(u: Any, v: Any, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Continuous image coordinates → (lon, lat) degrees (CONVENTIONS.md); lon in [-180, 180)."""
    lon = np.asarray(u, dtype=np.float64) / width * 360.0 - 180.0
    lat = 90.0 - np.asarray(v, dtype=np.float64) / height * 180.0
    lon = np.where(lon >= 180.0, lon - 360.0, lon)
    return lon, np.clip(lat, -90.0, 90.0)


def _vec(u: np.ndarray, v: np.ndarray, width: int, height: int) -> np.ndarray:
    lon = np.radians(u / width * 360.0 - 180.0)
    lat = np.radians(np.clip(90.0 - v / height * 180.0, -90.0, 90.0))
    c = np.cos(lat)
    return np.stack([c * np.sin(lon), np.sin(lat), c * np.cos(lon)], axis=-1)


@numba.njit(cache=True, nogil=True)
def _to_vec(u, v, width, height):  # noqa: ANN001 (numba signature)
    lon = math.radians(u / width * 360.0 - 180.0)
    lat = math.radians(min(90.0, max(-90.0, 90.0 - v / height * 180.0)))
    c = math.cos(lat)
    return c * math.sin(lon), math.sin(lat), c * math.cos(lon)


@numba.njit(cache=True, nogil=True)
def _needs_split(u0, v0, u1, v1, width, height, tol, max_arc):  # noqa: ANN001
    """Does the great-circle arc between two pixel points stray more than ``tol`` px from the
    straight pixel segment (measured at the arc's midpoint), or is it too long to judge?"""
    du, dv = u1 - u0, v1 - v0
    length2 = du * du + dv * dv
    if length2 < 1e-12:
        return False
    if max(abs(du) * 360.0 / width, abs(dv) * 180.0 / height) > max_arc:
        return True  # long in the image (a full-width edge has coinciding ends on the sphere)
    ax, ay, az = _to_vec(u0, v0, width, height)
    bx, by, bz = _to_vec(u1, v1, width, height)
    mx, my, mz = ax + bx, ay + by, az + bz
    norm = math.sqrt(mx * mx + my * my + mz * mz)
    if norm < 2.0 * math.cos(math.radians(max_arc) / 2):
        return True
    mx, my, mz = mx / norm, my / norm, mz / norm
    # the arc's midpoint in pixels, its longitude unwrapped next to the segment
    mu = (math.degrees(math.atan2(mx, mz)) + 180.0) / 360.0 * width
    mv = (90.0 - math.degrees(math.asin(min(1.0, max(-1.0, my))))) / 180.0 * height
    centre = 0.5 * (u0 + u1)
    mu += width * round((centre - mu) / width)
    t = min(1.0, max(0.0, ((mu - u0) * du + (mv - v0) * dv) / length2))
    ou, ov = mu - u0 - t * du, mv - v0 - t * dv
    if abs(my) > 1.0 - 1e-12:  # at a pole the longitude is meaningless: latitude only
        return abs(ov) > tol
    return ou * ou + ov * ov > tol * tol


@numba.njit(cache=True, nogil=True)
def _densify(points, width, height, tol, max_arc, max_depth):  # noqa: ANN001
    n = points.shape[0]
    out = np.empty((min(n * 2**max_depth, 16 * n + 65536), 2))  # room for any real outline
    m = 0
    stack = np.empty((max_depth + 2, 5))
    for k in range(n):
        j = k + 1 if k + 1 < n else 0
        top = 0
        stack[0, 0], stack[0, 1] = points[k, 0], points[k, 1]
        stack[0, 2], stack[0, 3], stack[0, 4] = points[j, 0], points[j, 1], 0
        top = 1
        while top > 0:
            top -= 1
            u0, v0, u1, v1, depth = stack[top]
            if depth < max_depth and _needs_split(u0, v0, u1, v1, width, height, tol, max_arc):
                hu, hv = 0.5 * (u0 + u1), 0.5 * (v0 + v1)
                # second half first: the stack is last in, first out
                stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3] = hu, hv, u1, v1
                stack[top, 4] = depth + 1
                stack[top + 1, 0], stack[top + 1, 1], stack[top + 1, 2] = u0, v0, hu
                stack[top + 1, 3], stack[top + 1, 4] = hv, depth + 1
                top += 2
            else:
                if m >= out.shape[0]:
                    return out[:m], False
                out[m, 0], out[m, 1] = u0, v0
                m += 1
    return out[:m], True


def densify(points: np.ndarray, width: int, height: int, tolerance_px: float) -> np.ndarray:
    """Pixel polygon (n, 2) → pixel points (m, 2) ⊇ its vertices such that the great-circle arc
    between consecutive points stays within ``tolerance_px`` of the straight pixel segment
    (judged at the arc's midpoint; arcs longer than ``MAX_ARC_DEG`` are always split)."""
    dense, complete = _densify(
        np.ascontiguousarray(points, dtype=np.float64),
        float(width),
        float(height),
        float(tolerance_px),
        MAX_ARC_DEG,
        _MAX_DEPTH,
    )
    if not complete:
        raise ShapeError("the polygon needs too many points to follow its pixel edges")
    return dense


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Same point on the sphere (1e-10 rad: validation's duplicate tolerance, with margin)."""
    return float(np.linalg.norm(a - b)) < 2e-10


def ring_from_pixels(
    points: np.ndarray, width: int, height: int, tolerance_px: float = 0.5
) -> tuple[np.ndarray | None, np.ndarray]:
    """(unit vectors (m, 3) of the ring, the densified pixel points) of a pixel polygon:
    densified, duplicates merged, spurs (out to a point and straight back, as the top edge of a
    polygon over the pole) removed. The ring is None when nothing with an area is left."""
    dense = densify(points, width, height, tolerance_px)
    v = _vec(dense[:, 0], dense[:, 1], width, height)
    keep = np.linalg.norm(v - np.roll(v, 1, axis=0), axis=1) >= 2e-10
    v = v[keep] if keep.any() else v[:1]
    if len(v) >= 3:
        spur = np.linalg.norm(np.roll(v, 1, axis=0) - np.roll(v, -1, axis=0), axis=1) < 2e-10
        if spur.any():
            v = _without_spurs(v)
    return (v if v is not None and len(v) >= 3 else None), dense


def _without_spurs(v: np.ndarray) -> np.ndarray | None:
    """Remove spurs (a vertex whose two neighbours coincide) until none is left."""
    ring = list(v)
    changed = True
    while changed and len(ring) >= 3:
        changed = False
        while len(ring) > 1 and _same(ring[0], ring[-1]):
            ring.pop()
            changed = True
        k = 0
        while k < len(ring) and len(ring) >= 3:
            prev, nxt = ring[k - 1], ring[(k + 1) % len(ring)]
            if _same(prev, nxt):  # spur: prev -> ring[k] -> prev
                del ring[k]
                del ring[k % len(ring)]
                changed = True
                k = max(k - 1, 0)
            else:
                k += 1
    return np.array(ring) if len(ring) >= 3 else None


def _pixel_area_sr(points: np.ndarray, width: int, height: int) -> float:
    """Area (sr) of a pixel polygon on the sphere: ∮ −sin(lat) dlon over its densified outline
    (Green's theorem for ∬ cos(lat) dlat dlon)."""
    dense = np.concatenate([points, points[:1]])
    lon = np.radians(dense[:, 0] / width * 360.0)
    lat = np.radians(90.0 - dense[:, 1] / height * 180.0)
    mid = 0.5 * (lat[1:] + lat[:-1])
    return abs(float(np.sum(-np.sin(mid) * np.diff(lon))))


def _as_lonlat(v: np.ndarray) -> list[list[float]]:
    lon, lat = geom.sphere().vec_to_lonlat(v)
    return np.stack([lon, lat], axis=1).tolist()


def polygons_geometry(
    polygons: list[np.ndarray], width: int, height: int, tolerance_px: float = 0.5
) -> list | None:
    """Geometry (one part per connected piece, not yet validated) of pixel polygons that
    together make one object; None when a polygon cannot be one ring (the caller uses the
    mask path)."""
    from label360.sphere.polygons import ring_signed_area

    if len(polygons) > MAX_RINGS:
        raise ShapeError(f"{len(polygons)} polygons; at most {MAX_RINGS} are allowed")
    parts = []
    for points in polygons:
        ring, dense = ring_from_pixels(points, width, height, tolerance_px)
        if ring is None:
            continue
        sphere_area = abs(ring_signed_area(ring))
        pixel_area = _pixel_area_sr(dense, width, height)
        if abs(sphere_area - pixel_area) > 0.25 * pixel_area + 1e-9:
            return None  # more than a hemisphere, or wound around a pole: use the mask
        parts.append([_as_lonlat(ring)])
    if len(parts) > 1:
        return merge_parts(parts)
    return parts


def merge_parts(geometry: list) -> list:
    """Parts of one object that touch or overlap (pieces cut at the seam or into halves
    around a pole) merged into one part each (the core's union); unchanged if that fails."""
    try:
        merged = geom.union([geometry])
    except ValueError:
        return geometry
    if merged and len(merged) < len(geometry) and not geom.problems(merged):
        return [[[[float(x), float(y)] for x, y in ring] for ring in part] for part in merged]
    return geometry


def runs_geometry(runs: Runs, width: int, height: int, tolerance_deg: float) -> list:
    """Geometry of a mask given as column runs: traced on a crop around the object (rolled
    across the seam when the object crosses it); pieces cut by the tracer merged."""
    if runs.empty:
        return []
    cols = np.unique(runs.cols)
    if len(cols) == width:
        x0, crop_w = 0, width
    else:
        # start the crop after the widest empty stretch of columns (circularly)
        gaps = np.diff(np.concatenate([cols, [cols[0] + width]])) - 1
        k = int(np.argmax(gaps))
        x0 = int(cols[(k + 1) % len(cols)])
        crop_w = width - int(gaps[k])
    y0, y1 = int(runs.starts.min()), int(runs.ends.max())
    from label360.sphere.kernels import fill_runs

    buf = np.zeros((crop_w, y1 - y0), dtype=np.uint8)
    rel = (runs.cols - x0) % width
    fill_runs(buf, rel, runs.starts - y0, runs.ends - y0, np.uint8(1))
    mask = np.ascontiguousarray(buf.T)
    geometry = geom.sphere().mask_to_geometry(
        mask, tolerance_deg, origin=(x0, y0), image_size=(width, height)
    )
    geometry = [[[[float(x), float(y)] for x, y in ring] for ring in part] for part in geometry]
    return merge_parts(geometry) if len(geometry) > 1 else geometry


def coco_polygon_runs(polygons: list[np.ndarray], width: int, height: int) -> Runs:
    """Runs of checked COCO polygons rasterised as pycocotools does, on the crop of their
    bounding box (the mask-path fallback; the coordinates were checked, so the native code
    sees only finite in-image numbers)."""
    from pycocotools import mask as mask_utils

    from ..rle import mask_to_runs

    xy = np.concatenate(polygons)
    x0, y0 = (max(0, int(math.floor(c)) - 1) for c in xy.min(axis=0))
    x1 = min(width, int(math.ceil(xy[:, 0].max())) + 1)
    y1 = min(height, int(math.ceil(xy[:, 1].max())) + 1)
    flat = [(p - [x0, y0]).ravel().tolist() for p in polygons]
    rle = mask_utils.merge(mask_utils.frPyObjects(flat, y1 - y0, x1 - x0))
    runs = mask_to_runs(mask_utils.decode(rle).astype(bool))
    return Runs(runs.cols + x0, runs.starts + y0, runs.ends + y0)


def segmentation_geometry(
    segmentation: Any,
    width: int,
    height: int,
    tolerance_px: float = 0.5,
    tolerance_deg: float = 0.05,
) -> tuple[list, str]:
    """(valid normalised geometry, how) of a COCO segmentation; ``how`` is "polygon"
    (vertices converted), "mask" (traced, when the vertices do not make valid rings) or
    "rle". ShapeError with the reason for bad input or an invalid result."""
    if isinstance(segmentation, list):
        if not segmentation:
            raise ShapeError("polygon segmentation is an empty list")
        polygons = [check_flat_polygon(p, width, height) for p in segmentation]
        if sum(len(p) for p in polygons) > MAX_GEOMETRY_VERTICES:
            raise ShapeError(f"more than {MAX_GEOMETRY_VERTICES} points in all")
        geometry = polygons_geometry(polygons, width, height, tolerance_px)
        if geometry is not None:
            valid, problem = _valid(geometry)
            if problem is None:
                return valid, "polygon"
        runs = coco_polygon_runs(polygons, width, height)
        return _checked(runs_geometry(runs, width, height, tolerance_deg)), "mask"
    if isinstance(segmentation, dict) and "counts" in segmentation:
        try:
            runs = rle_runs(segmentation, height, width)
        except RleError as exc:
            raise ShapeError(str(exc)) from exc
        return _checked(runs_geometry(runs, width, height, tolerance_deg)), "rle"
    raise ShapeError("segmentation must be a list of polygons or an RLE {size, counts}")


def _valid(geometry: list) -> tuple[list, str | None]:
    from .common import check_geometry

    if not geometry:
        return [], None
    return check_geometry(geometry)


def _checked(geometry: list) -> list:
    valid, problem = _valid(geometry)
    if problem is not None:
        raise ShapeError(f"converted geometry invalid: {problem}")
    return valid


def small_circle(
    centre: np.ndarray, edge: np.ndarray, width: int, height: int, tolerance_px: float = 0.5
) -> list | None:
    """A LabelMe circle (centre and a point on it, pixels) as the small circle on the sphere
    around the centre through that point: a ring whose chords stay within ``tolerance_px``
    (at the centre's latitude scale) of the circle; None when its radius is zero or it would
    not be smaller than a hemisphere."""
    c = _vec(centre[:1, 0], centre[:1, 1], width, height)[0]
    e = _vec(edge[:1, 0], edge[:1, 1], width, height)[0]
    radius = math.acos(max(-1.0, min(1.0, float(c @ e))))
    if radius < 1e-9 or radius >= math.pi / 2:
        return None
    px_per_rad = height / math.pi
    # chord sagitta r(1 - cos(pi/n)) <= tolerance: n from the radius in pixels
    r_px = math.sin(radius) * px_per_rad
    n = max(8, math.ceil(math.pi / math.acos(max(-1.0, 1.0 - tolerance_px / max(r_px, 1e-9)))))
    n = min(n, 4096)
    t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    helper = np.array([0.0, 1.0, 0.0]) if abs(c[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    a = np.cross(c, helper)
    a /= np.linalg.norm(a)
    b = np.cross(c, a)
    ring = math.cos(radius) * c[None] + math.sin(radius) * (
        np.cos(t)[:, None] * a[None] + np.sin(t)[:, None] * b[None]
    )
    return [[_as_lonlat(ring)]]
