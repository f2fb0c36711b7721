"""Masks -> simplified spherical polygons (pre-labelling, imports of pixel masks).

Tracing: each 4-connected component of the mask is traced with cv2.findContours on a grid
``trace_scale`` times finer (nearest-neighbour copies of the pixels), every boundary point
kept (CHAIN_APPROX_NONE).  Contours pass through the centres of the outermost traced cells,
so the outline lies 0.5 / trace_scale px inside the region's edge: with the default 4 a
region rasterises back to exactly its pixels, 1-2 px wide poles included (tracing the mask
itself would put the outline half a pixel inside, so a 1 px pole would have no area). The
exception is a hole touching the outline at a pixel corner: the repair below can move one
pixel there.
By default components touching only at a pixel corner become separate parts (one ring
touching itself would be refused by validation); with ``connectivity=8`` they stay one outline
and the pinch point is repaired.

Equirect masks: if some column is empty the mask is rolled so that column becomes the seam,
so an object crossing lon +-180 comes out as ONE polygon.  A region holding a pole (its row
set in every column: a sky, a tripod at the nadir) comes out as ONE ring around the pole,
traced on the image rolled to a seam where the region has no notch.  What still occupies every
column (a band around the sphere, or a cap of a hemisphere or more) is cut into two halves of
180 degrees of longitude each; the cut edges are meridians (great circles), so the pieces are
exact and each is < a hemisphere.
The dense contour points are converted to unit vectors and simplified on the sphere with a
Douglas-Peucker test on great-circle distances (tolerance in degrees): a boundary along a
pixel row is a parallel, not a great circle, so it must be simplified on the sphere, never
collapsed to its end points in pixel space.

View masks: contours are simplified in the view with cv2.approxPolyDP (straight lines in a view
are great circles, so this is exact) with a pixel tolerance equal to the angular tolerance at
the view centre, and mapped to the sphere.

Validity: if the simplified polygon is invalid, the vertices validation flags (spikes of
one-cell protrusions, pinch points) are dropped; if that loses a ring the tolerance is
reduced, then holes touching at a corner are shrunk by 1e-5 of their size and flagged
vertices dropped again; a polygon whose outer ring cannot be repaired is left out.
"""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
from numpy.typing import NDArray

from .polygons import Problem, corner_problems, geometry_problems, ring_vectors
from .vectors import cross3, vec_to_lonlat
from .views import View

__all__ = ["mask_to_geometry", "seam_components", "simplify_ring_vectors"]


def simplify_ring_vectors(v: NDArray[np.float64], tol_rad: float) -> NDArray[np.float64]:
    """Douglas-Peucker on a closed ring of unit vectors: max great-circle deviation <= tol."""
    n = len(v)
    if n <= 4 or tol_rad <= 0:
        return v
    # split the ring at vertex 0 and the vertex farthest from it
    far = int(np.argmin(v @ v[0]))
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[far] = True
    stack = [(0, far), (far, n)]
    sin_tol = math.sin(tol_rad)
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        a, b = v[i], v[j % n]
        nrm = cross3(a, b)
        ln = np.linalg.norm(nrm)
        seg = v[i + 1 : j]
        if ln < 1e-15:
            d = 1.0 - seg @ a  # degenerate chord: distance to the endpoint
            k = int(np.argmax(d))
            worst = math.sqrt(max(0.0, 2 * float(d[k])))
        else:
            d = np.abs(seg @ (nrm / ln))
            k = int(np.argmax(d))
            worst = float(d[k])
        if worst > sin_tol:
            m = i + 1 + k
            keep[m] = True
            stack += [(i, m), (m, j)]
    return v[keep]


def _pixel_ring_to_vec(c: NDArray, width: int, height: int) -> NDArray[np.float64]:
    lon = np.radians((c[:, 0] + 0.5) / width * 360.0 - 180.0)
    lat = np.radians(90.0 - (c[:, 1] + 0.5) / height * 180.0)
    cl = np.cos(lat)
    return np.stack([cl * np.sin(lon), np.sin(lat), cl * np.cos(lon)], axis=1)


def _contours(
    mask: NDArray[np.uint8], scale: int, connectivity: int
) -> list[tuple[NDArray[np.float64], list[NDArray[np.float64]]]]:
    """(outer, [holes]) contours, (n, 2) float pixel coordinates of `mask` (pixel centres at
    integers), one entry per connected component, traced on a grid `scale` times finer."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=connectivity)
    out = []
    for k in range(1, n):
        x, y, w, h = (int(v) for v in stats[k, :4])
        sub = (lab[y : y + h, x : x + w] == k).astype(np.uint8)
        if scale > 1:
            sub = np.repeat(np.repeat(sub, scale, axis=0), scale, axis=1)
        sub = np.pad(sub, 1)  # findContours never sees a border
        cs, hier = cv2.findContours(sub, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        if hier is None:
            continue
        hier = hier[0]
        off = np.array([x, y], dtype=np.float64)

        def to_px(c: NDArray, off: NDArray = off) -> NDArray[np.float64]:
            # fine cell i (after the padding) has its centre at (i + 0.5) / scale in units of
            # pixel edges, i.e. at pixel coordinate (i + 0.5) / scale - 0.5
            return (c[:, 0, :].astype(np.float64) - 1.0 + 0.5) / scale - 0.5 + off

        for j, c in enumerate(cs):
            if hier[j][3] != -1:
                continue
            holes = []
            child = hier[j][2]
            while child != -1:
                holes.append(to_px(cs[child]))
                child = hier[child][0]
            out.append((to_px(c), holes))
    return out


def _to_lonlat(v: NDArray[np.float64]) -> list[list[float]]:
    lon, lat = vec_to_lonlat(v)
    return np.stack([lon, lat], axis=1).tolist()


def _finish(rings_v: list[NDArray], tol: float) -> list[list[list[float]]] | None:
    """Simplified, valid rings (lon, lat lists), or None if the outer ring cannot be repaired
    (see the module docstring for the order of the repairs)."""
    poly = [_to_lonlat(simplify_ring_vectors(r, tol)) for r in rings_v]
    if not geometry_problems([poly]):
        return poly
    # usually a one-cell spike or a pinch point: dropping the flagged vertices keeps the
    # outline as simple as asked; otherwise keep more detail
    repaired = _drop_flagged_vertices(poly)
    if repaired is not None and len(repaired) == len(poly):
        return repaired
    for t in (tol / 4, tol / 16):
        poly = [_to_lonlat(simplify_ring_vectors(r, t)) for r in rings_v]
        if not geometry_problems([poly]):
            return poly
    # Holes touching each other or the outer ring at a pixel corner (the contours share a
    # point): shrink every hole by 1e-5 of its size towards its vertex mean.
    shrunk = [rings_v[0]]
    for r in rings_v[1:]:
        c = r.mean(axis=0)
        r = r + 1e-5 * (c - r)
        shrunk.append(r / np.linalg.norm(r, axis=1, keepdims=True))
    return _drop_flagged_vertices([_to_lonlat(simplify_ring_vectors(r, tol / 16)) for r in shrunk])


def _drop_flagged_vertices(rings: list[list[list[float]]], max_steps: int = 200) -> list | None:
    """Drop the vertices validation flags (zero-width spikes of one-cell protrusions,
    crossings at pinch points) until the polygon is valid; holes that break are dropped.

    Incremental: the polygon is validated in full once; after each dropped vertex only the
    two corners next to it — the only arcs that changed — are tested again
    (:func:`corner_problems`), and the other problems found keep their place. A full check
    confirms the result whenever the known problems run out (validation reports only the
    first crossing of a ring, so another may be found then)."""
    rings = [list(r) for r in rings]
    known = geometry_problems([rings])
    for _ in range(max_steps):
        if not known:
            known = geometry_problems([rings])
            if not known:
                return rings
        p = known.pop(0)
        if p.ring >= len(rings):
            return None
        if p.vertex is None or len(rings[p.ring]) <= 3:
            if p.ring == 0:
                return None
            del rings[p.ring]
            known = [replace(q, ring=q.ring - (q.ring > p.ring)) for q in known if q.ring != p.ring]
            continue
        k = p.vertex % len(rings[p.ring])
        del rings[p.ring][k]
        known = _after_drop(known, rings, p.ring, k)
    return None


def _after_drop(known: list, rings: list, r: int, k: int) -> list:
    """The known problems after vertex ``k`` of ring ``r`` was dropped: indices past it shift
    down, and the two corners next to it are tested again."""
    n = len(rings[r])
    if n < 3:
        return [Problem(0, r, None, f"ring has {n} vertices, needs at least 3")] + known
    near = {(k - 1) % n, k % n}
    kept = []
    for q in known:
        if q.ring != r or q.vertex is None:
            kept.append(q)
            continue
        old = q.vertex % (n + 1)
        if old == k:
            continue  # that vertex is gone
        new = old - 1 if old > k else old
        if new not in near:
            kept.append(replace(q, vertex=new))
    v = ring_vectors(np.asarray(rings[r], dtype=np.float64))
    edges, spikes = corner_problems(v, np.array(sorted(near)), 0, r)
    return edges + spikes + kept


def seam_components(mask: NDArray, connectivity: int = 8) -> tuple[NDArray[np.int64], int]:
    """Connected components of an equirect mask with columns W-1 and 0 adjacent (joined
    across the seam at lon +-180): (labels 1..count, 0 outside; count)."""
    from scipy import ndimage  # loaded where masks are labelled, not with the geometry core

    structure = np.ones((3, 3), bool) if connectivity == 8 else None
    labels, count = ndimage.label(mask, structure=structure)
    if count == 0:
        return labels, 0
    parent = np.arange(count + 1)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    h = labels.shape[0]
    left, right = labels[:, 0], labels[:, -1]
    steps = (-1, 0, 1) if connectivity == 8 else (0,)
    for j in range(h):
        for dj in steps:
            k = j + dj
            if 0 <= k < h and left[j] and right[k]:
                ra, rb = find(int(left[j])), find(int(right[k]))
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(count + 1)])
    _, compact = np.unique(roots, return_inverse=True)
    return compact[labels].reshape(labels.shape), int(compact.max())


def _polar_caps(
    m: NDArray[np.uint8],
    scale: int,
    connectivity: int,
    tol: float,
    origin: tuple[int, int],
    full_h: int,
) -> tuple[list, NDArray[np.uint8]]:
    """Regions of a full-width equirect mask (rows ``origin[1]``.. of an image ``full_h``
    high) that hold a pole (the pole's row is set in every column), each as ONE polygon around
    the pole; and the mask without them.

    A cap is traced on the image rolled so that the seam falls between two columns where the
    cap is a single run from the pole's row (no notch there): its flat outline is then the pole
    row, the two seam edges and the cap's far boundary; dropping the first three leaves the
    boundary as one open line, which closes across the seam into a ring around the pole. Caps
    with no such pair of columns, or of a hemisphere or more (a ring's interior is the smaller
    side), are left in the mask for the two-halves path."""
    h, w = m.shape
    x0, y0 = origin
    caps: list = []
    rest = m
    poles = [row for row, held in ((0, y0 == 0), (h - 1, y0 + h == full_h)) if held]
    for row in poles:
        if not rest[row].all():
            continue
        lab, _ = seam_components(rest, connectivity)
        cap = (lab == lab[row, 0]).astype(np.uint8)
        south = row != 0
        poly = _polar_cap(
            cap[::-1] if south else cap, scale, connectivity, tol, south, x0, y0, full_h
        )
        if poly is not None:
            caps.append(poly)
            rest = rest & (1 - cap)
    return caps, rest


def _polar_cap(
    cap: NDArray[np.uint8],
    scale: int,
    connectivity: int,
    tol: float,
    flipped: bool,
    x0: int,
    y0: int,
    full_h: int,
) -> list[list[list[float]]] | None:
    """One polygon around the north pole of ``cap`` (the south pole when ``flipped``: the
    mask was turned upside down), or None (see :func:`_polar_caps`)."""
    h, w = cap.shape
    rows = y0 + (np.arange(h)[::-1] if flipped else np.arange(h))  # image rows of cap's rows
    lat = np.radians(90.0 - (rows + 0.5) / full_h * 180.0)
    if float((cap.sum(axis=1) * np.cos(lat)).sum()) >= 0.95 * w * full_h / math.pi:
        return None  # a hemisphere or more (the pixel solid angles sum to 2 pi there)
    ends = cap.argmin(axis=0)  # first row outside the cap (0: the column is full)
    ends[cap.all(axis=0)] = h
    simple = cap.sum(axis=0) == ends  # the column is one run from the pole's row
    # a full column is fine unless the crop reaches the other pole (then no boundary there)
    far_pole = y0 == 0 if flipped else y0 + h == full_h
    simple &= (ends < h) | (not far_pole)
    good = np.nonzero(simple & np.roll(simple, 1))[0]
    if not good.size:
        return None
    shift = int(good[0])  # columns shift-1 and shift meet at the seam of the rolled image
    traced = _contours(np.roll(cap, -shift, axis=1), scale, connectivity)
    if len(traced) != 1:
        return None
    outer, holes = traced[0]
    lo, hi = outer.min(axis=0), outer.max(axis=0)
    drop = (outer[:, 1] <= lo[1] + 1e-9) | (outer[:, 0] <= lo[0] + 1e-9)
    drop |= outer[:, 0] >= hi[0] - 1e-9
    keep = ~drop
    if keep.sum() < 3 or np.count_nonzero(keep != np.roll(keep, 1)) != 2:
        return None  # the far boundary is not one line
    start = int(np.nonzero(keep & ~np.roll(keep, 1))[0][0])
    boundary = np.roll(outer, -start, axis=0)[: int(keep.sum())]
    rings_v = []
    for c in [boundary] + [hole for hole in holes if len(hole) >= 3]:
        c = c.copy()
        c[:, 0] += shift + x0
        if flipped:
            c[:, 1] = (h - 1) - c[:, 1]
        c[:, 1] += y0
        rings_v.append(_pixel_ring_to_vec(c, w, full_h))
    return _finish(rings_v, tol)


def mask_to_geometry(
    mask: NDArray,
    tolerance_deg: float = 0.1,
    view: View | None = None,
    trace_scale: int = 4,
    connectivity: int = 4,
    origin: tuple[int, int] = (0, 0),
    image_size: tuple[int, int] | None = None,
) -> list[list[list[list[float]]]]:
    """Spherical polygons (a geometry) from a bool mask.

    mask: (H, W) equirect mask (when view is None) or a mask in `view`'s pixels.
    origin, image_size: the mask is the crop at pixel (x0, y0) of an equirect image of
    (width, height) (default: the mask is the whole image).  Columns past the right edge
    continue at the left one, so a crop may run across the seam; a crop narrower than the
    image is traced as it is (no seam handling needed: the caller crops around the object).
    tolerance_deg: maximum deviation of the simplified outline (degrees on the sphere; for
    views, measured at the view centre).  trace_scale: outlines lie 0.5 / trace_scale px
    inside the mask's edge (1 = through the boundary pixel centres).  connectivity: 4 (pixels
    touching at a corner become separate parts: exact) or 8 (they stay one outline, repaired
    at the pinch point by dropping the vertices there: fewer parts and vertices for noisy
    masks such as model predictions).
    """
    m = (np.asarray(mask) > 0).astype(np.uint8)
    if m.ndim != 2:
        raise ValueError("mask must be 2-D")
    scale = int(trace_scale)
    if scale < 1:
        raise ValueError("trace_scale must be >= 1")
    if connectivity not in (4, 8):
        raise ValueError("connectivity must be 4 or 8")
    tol = math.radians(tolerance_deg)
    out: list[list[list[list[float]]]] = []
    if view is not None:
        if m.shape != (view.height, view.width):
            raise ValueError("mask shape does not match the view")
        tol_px = max(0.0, math.tan(tol) * view.focal)
        for outer, holes in _contours(m, scale, connectivity):
            rings = []
            for k, c in enumerate([outer] + holes):
                # simplify on the fine grid (integer cells) with the tolerance scaled alike
                fine = np.rint((c + 0.5) * scale - 0.5).astype(np.int32)
                approx = cv2.approxPolyDP(fine.reshape(-1, 1, 2), tol_px * scale, True)[:, 0, :]
                if len(approx) < 3:
                    if k == 0:
                        break
                    continue
                px = (approx.astype(np.float64) + 0.5) / scale - 0.5
                lon, lat = view.pixel_to_lonlat(px[:, 0], px[:, 1])
                rings.append(np.stack([lon, lat], axis=1).tolist())
            if rings:
                poly = rings if not geometry_problems([rings]) else _drop_flagged_vertices(rings)
                if poly is not None:
                    out.append(poly)
        return out
    h, w = m.shape
    x0, y0 = origin
    full_w, full_h = image_size if image_size is not None else (w, h)
    occupied = m.any(axis=0)
    if not occupied.any():
        return out
    empty = np.nonzero(~occupied)[0]
    if w == full_w and not empty.size:
        caps, m = _polar_caps(m, scale, connectivity, tol, (x0, y0), full_h)
        out.extend(caps)
        occupied = m.any(axis=0)
        if not occupied.any():
            return out
        empty = np.nonzero(~occupied)[0]
    if w < full_w:
        pieces = [(m, 0)]
    elif empty.size:
        shift = int(empty[0])  # this empty column becomes column 0
        pieces = [(np.roll(m, -shift, axis=1), shift)]
    else:
        half = w // 2
        left = np.zeros_like(m)
        right = np.zeros_like(m)
        left[:, :half] = m[:, :half]
        right[:, half:] = m[:, half:]
        pieces = [(left, 0), (right, 0)]
    for piece, shift in pieces:
        for outer, holes in _contours(piece, scale, connectivity):
            rings_v = []
            for c in [outer] + holes:
                if len(c) < 3:
                    continue
                c = c.copy()
                c[:, 0] += shift + x0
                c[:, 1] += y0
                rings_v.append(_pixel_ring_to_vec(c, full_w, full_h))
            if not rings_v or len(outer) < 3:
                continue
            poly = _finish(rings_v, tol)
            if poly is not None:
                out.append(poly)
    return out
