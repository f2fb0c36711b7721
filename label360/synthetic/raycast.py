"""Vectorised ray casting from the panorama centre: pixel rays, room shell / ground plane, boxes.

Each equirect pixel gets one ray through its centre (CONVENTIONS.md pixel convention), so the
rendered instance mask is exactly "pixel centre inside the visible silhouette" — the same rule
the geometry core uses to rasterise polygons. Boxes are intersected with the slab method, only
inside a conservative pixel window derived from a bounding cone, in row chunks to bound memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .scene import CLASS_IDS, Box, Camera, Scene

ROW_CHUNK_PIXELS = 1 << 18  # rays per chunk in the box pass (~6 MB per float64 (n, 3) array)

# Pixel window: rows (slice) and columns (slice, or a wrapped index array across the seam).
Window = tuple[slice, "np.ndarray | slice"]


def pixel_lonlat(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre longitudes (W,) and latitudes (H,) in degrees."""
    lon = (np.arange(width) + 0.5) / width * 360.0 - 180.0
    lat = 90.0 - (np.arange(height) + 0.5) / height * 180.0
    return lon, lat


def pixel_directions(width: int, height: int, rows: slice | None = None) -> np.ndarray:
    """Unit ray directions of pixel centres in the camera frame, (H, W, 3) float64
    (only the rows in ``rows`` if given)."""
    lon, lat = pixel_lonlat(width, height)
    if rows is not None:
        lat = lat[rows]
    height = len(lat)
    lon_r, lat_r = np.radians(lon), np.radians(lat)
    cl = np.cos(lat_r)[:, None]
    d = np.empty((height, width, 3))
    d[..., 0] = cl * np.sin(lon_r)[None, :]
    d[..., 1] = np.sin(lat_r)[:, None]
    d[..., 2] = cl * np.cos(lon_r)[None, :]
    return d


def box_entry(
    box: Box, origin: np.ndarray, dirs: np.ndarray, want_normals: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Slab test of rays ``origin + t·dirs`` (dirs (n, 3) world) against ``box``.

    Returns the entry distance t (n,) (inf where the ray misses; the origin is outside every
    box by construction) and the world normal of the entered face (n, 3), or None when
    ``want_normals`` is false (use ``box_normals`` on the few rays that need one).
    """
    rb = box.rotation()
    half = np.asarray(box.size, float) / 2.0
    o = (np.asarray(origin, float) - np.asarray(box.center, float)) @ rb  # local origin
    dl = rb.T @ dirs.T  # (3, n) local directions, one contiguous row per axis
    n = dirs.shape[0]
    tnear = np.full(n, -np.inf)
    tfar = np.full(n, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for a in range(3):
            inv = 1.0 / dl[a]
            t1 = (-half[a] - o[a]) * inv
            t2 = (half[a] - o[a]) * inv
            np.maximum(tnear, np.minimum(t1, t2), out=tnear)
            np.minimum(tfar, np.maximum(t1, t2), out=tfar)
    hit = (tnear <= tfar) & (tnear > 0.0)
    t = np.where(hit, tnear, np.inf)
    return t, (box_normals(box, origin, dirs, t) if want_normals else None)


def box_normals(box: Box, origin: np.ndarray, dirs: np.ndarray, t: np.ndarray) -> np.ndarray:
    """World normals (n, 3) of the faces hit at distance t (finite) along ``dirs``.

    The entered face is the one whose slab boundary the hit point lies on; we pick the axis
    with the largest |local coordinate| / half-size, which is that face.
    """
    rb = box.rotation()
    half = np.asarray(box.size, float) / 2.0
    tt = np.where(np.isfinite(t), t, 0.0)
    q = ((np.asarray(origin, float) + tt[:, None] * dirs) - np.asarray(box.center, float)) @ rb
    rel = np.abs(q) / half
    axis = np.argmax(rel, axis=1)
    local_n = np.zeros_like(q)
    idx = np.arange(len(q))
    local_n[idx, axis] = np.sign(q[idx, axis])
    return local_n @ rb.T


def closest_point(box: Box, point: np.ndarray) -> np.ndarray:
    """Closest point of the (solid) box to ``point``, world coordinates."""
    rb = box.rotation()
    half = np.asarray(box.size, float) / 2.0
    local = (np.asarray(point, float) - np.asarray(box.center, float)) @ rb
    return np.asarray(box.center, float) + np.clip(local, -half, half) @ rb.T


def bounding_cap(box: Box, camera: Camera) -> tuple[np.ndarray, float]:
    """A cone from the camera containing the whole box: (unit axis in camera frame, half-angle rad).

    Two valid cones are compared and the tighter one kept: the bounding-sphere cone, and the
    cone around the direction of the closest box point (every box point x satisfies
    n·(x−p) ≥ |q−p|, and |x−p| ≤ the farthest corner distance).
    """
    p = np.asarray(camera.position, float)
    rot = camera.rotation()
    c = np.asarray(box.center, float) - p
    dist = float(np.linalg.norm(c))
    radius = 0.5 * float(np.linalg.norm(box.size))
    alpha1 = math.asin(radius / dist) if radius < dist else math.pi
    q = closest_point(box, p) - p
    delta = float(np.linalg.norm(q))
    dmax = float(np.max(np.linalg.norm(box.corners() - p, axis=1)))
    alpha2 = math.acos(min(1.0, delta / dmax)) if delta > 0 else math.pi
    if alpha1 <= alpha2:
        return rot.T @ (c / dist), alpha1
    return rot.T @ (q / delta), alpha2


def pixel_window(axis: np.ndarray, alpha: float, width: int, height: int) -> Window:
    """Pixel window of a cap (unit axis in camera frame, half-angle in radians)."""
    lat_c = math.degrees(math.asin(max(-1.0, min(1.0, float(axis[1])))))
    lon_c = math.degrees(math.atan2(axis[0], axis[2]))
    a = math.degrees(alpha)
    lat_hi, lat_lo = lat_c + a, lat_c - a
    if lat_hi >= 90.0 or lat_lo <= -90.0:
        return lonlat_window(lat_lo, lat_hi, None, width, height)
    s = math.sin(alpha) / math.cos(math.radians(lat_c))
    if s >= 1.0:
        return lonlat_window(lat_lo, lat_hi, None, width, height)
    dlon = math.degrees(math.asin(s))
    return lonlat_window(lat_lo, lat_hi, (lon_c - dlon, lon_c + dlon), width, height)


@dataclass
class Hits:
    """Per-pixel first hits. ``t`` is the ray distance (inf = sky), normals are world-frame."""

    dirs: np.ndarray  # (H, W, 3) world ray directions, float64
    t: np.ndarray  # (H, W) float64
    normals: np.ndarray  # (H, W, 3) float64, zero for sky
    instance_ids: np.ndarray  # (H, W) int32, 0 = stuff / sky
    class_ids: np.ndarray  # (H, W) uint8


def cast_stuff(scene: Scene, origin: np.ndarray, dirs: np.ndarray) -> Hits:
    """Room shell (camera inside an axis-aligned box) or ground plane + sky."""
    h, w = dirs.shape[:2]
    t = np.full((h, w), np.inf)
    normals = np.zeros((h, w, 3))
    cls = np.full((h, w), CLASS_IDS["sky"], np.uint8)
    if scene.stuff["type"] == "room":
        lo, hi = np.asarray(scene.stuff["min"]), np.asarray(scene.stuff["max"])
        face = np.zeros((h, w), np.int8)
        with np.errstate(divide="ignore", invalid="ignore"):
            for a in range(3):
                d = dirs[..., a]
                bound = np.where(d > 0, hi[a], lo[a])
                ta = np.where(d != 0, (bound - origin[a]) / d, np.inf)
                closer = ta < t
                t = np.where(closer, ta, t)
                face[closer] = a
        for a in range(3):
            sel = face == a
            normals[..., a] = np.where(sel, -np.sign(dirs[..., a]), 0.0)
        cls[:] = CLASS_IDS["wall"]
        cls[(face == 1) & (dirs[..., 1] < 0)] = CLASS_IDS["floor"]
        cls[(face == 1) & (dirs[..., 1] > 0)] = CLASS_IDS["ceiling"]
    else:
        gy = float(scene.stuff.get("ground_y", 0.0))
        down = dirs[..., 1] < 0
        with np.errstate(divide="ignore", invalid="ignore"):
            tg = (gy - origin[1]) / dirs[..., 1]
        t = np.where(down, tg, np.inf)
        normals[down, 1] = 1.0
        cls[down] = CLASS_IDS["road"]
    return Hits(dirs, t, normals, np.zeros((h, w), np.int32), cls)


def lonlat_window(
    lat_lo: float, lat_hi: float, lon_range: tuple[float, float] | None, width: int, height: int
) -> Window:
    """Pixel rows (slice) and columns (slice, or wrapped index array across the seam) whose
    centres can lie in the given latitude band and longitude interval (None = all lons)."""
    j0 = max(0, math.floor((90.0 - lat_hi) / 180.0 * height) - 1)
    j1 = min(height, math.ceil((90.0 - lat_lo) / 180.0 * height) + 1)
    rows = slice(j0, max(j0, j1))
    if lon_range is None:
        return rows, slice(0, width)
    i0 = math.floor((lon_range[0] + 180.0) / 360.0 * width) - 1
    i1 = math.ceil((lon_range[1] + 180.0) / 360.0 * width) + 1
    if i1 - i0 >= width:
        return rows, slice(0, width)
    if i0 >= 0 and i1 <= width:
        return rows, slice(i0, i1)
    return rows, np.arange(i0, i1) % width  # straddles the seam


def cast(
    scene: Scene,
    camera: Camera,
    width: int,
    height: int,
    band: slice | None = None,
    windows: dict[int, Window] | None = None,
) -> Hits:
    """First hit of every pixel-centre ray in the row ``band`` (default: all rows).

    Stuff first, then each box where it is nearer. ``windows`` maps box id → the pixel window
    that may contain the box (default: from ``bounding_cap``); boxes are disjoint, so the
    order in which they are tested does not matter.
    """
    band = slice(0, height) if band is None else band
    origin = np.asarray(camera.position, float)
    dirs = pixel_directions(width, height, band) @ camera.rotation().T
    hits = cast_stuff(scene, origin, dirs)
    for box in scene.boxes:
        if windows is not None:
            rows, cols = windows[box.id]
        else:
            rows, cols = pixel_window(*bounding_cap(box, camera), width, height)
        # Intersect the box window with the band, in band-relative rows.
        r_start, r_stop = (
            max(rows.start, band.start) - band.start,
            min(rows.stop, band.stop) - band.start,
        )
        n_cols = len(range(width)[cols]) if isinstance(cols, slice) else len(cols)
        if r_stop <= r_start or n_cols == 0:
            continue
        step = max(1, ROW_CHUNK_PIXELS // n_cols)
        for r0 in range(r_start, r_stop, step):
            rr = slice(r0, min(r_stop, r0 + step))
            d = dirs[rr, cols]
            shape = d.shape[:2]
            tb = box_entry(box, origin, d.reshape(-1, 3), want_normals=False)[0].reshape(shape)
            cur = hits.t[rr, cols]
            nearer = tb < cur
            if not nearer.any():
                continue
            hits.t[rr, cols] = np.where(nearer, tb, cur)
            normals = hits.normals[rr, cols]
            normals[nearer] = box_normals(box, origin, d[nearer], tb[nearer])
            hits.normals[rr, cols] = normals
            hits.instance_ids[rr, cols] = np.where(nearer, box.id, hits.instance_ids[rr, cols])
            hits.class_ids[rr, cols] = np.where(
                nearer, CLASS_IDS[box.cls], hits.class_ids[rr, cols]
            )
    return hits
