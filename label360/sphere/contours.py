"""Masks -> simplified spherical polygons (for pre-labelling).

Equirect masks: contours are traced with cv2.findContours (vertices at boundary pixel centres).
Seam: if some column is empty the mask is rolled so that column becomes the seam, so an
object crossing lon +-180 comes out as ONE polygon.  If every column is occupied (a band or a
cap around a pole) the mask is cut into two halves of 180 degrees of longitude each; the cut
edges are meridians (great circles), so the pieces are exact and each is < a hemisphere.
Dense contour vertices are converted to (lon, lat) and simplified on the sphere with a
Douglas-Peucker test on great-circle distances (tolerance in degrees).

View masks: contours are simplified in the view with cv2.approxPolyDP (straight lines in a view
are great circles, so this is exact) with a pixel tolerance equal to the angular tolerance at
the view centre, and mapped to the sphere.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from .polygons import geometry_problems
from .vectors import cross3, vec_to_lonlat
from .views import View

__all__ = ["mask_to_geometry", "simplify_ring_vectors"]


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


def _contours(mask: NDArray[np.uint8]) -> list[tuple[NDArray, list[NDArray]]]:
    """(outer, [holes]) pixel contours (n, 2) int arrays, one entry per 4-connected component
    (so that objects touching only at a pixel corner become separate parts instead of one
    ring touching itself, which validation refuses)."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    if n <= 2:
        return _contours_ccomp(mask)
    out = []
    for k in range(1, n):
        x, y, w, h = (int(v) for v in stats[k, :4])
        sub = (lab[y : y + h, x : x + w] == k).astype(np.uint8)
        for outer, holes in _contours_ccomp(sub):
            off = np.array([x, y])
            out.append((outer + off, [hh + off for hh in holes]))
    return out


def _contours_ccomp(mask: NDArray[np.uint8]) -> list[tuple[NDArray, list[NDArray]]]:
    """(outer, [holes]) pixel contours (n, 2) int arrays, from cv2 RETR_CCOMP."""
    cs, hier = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hier is None:
        return []
    hier = hier[0]
    out = []
    for k, c in enumerate(cs):
        if hier[k][3] != -1:
            continue
        holes = []
        child = hier[k][2]
        while child != -1:
            holes.append(cs[child][:, 0, :])
            child = hier[child][0]
        out.append((c[:, 0, :], holes))
    return out


def _to_lonlat(v: NDArray[np.float64]) -> list[list[float]]:
    lon, lat = vec_to_lonlat(v)
    return np.stack([lon, lat], axis=1).tolist()


def _finish(rings_v: list[NDArray], tol: float) -> list[list[list[float]]] | None:
    """Simplify rings; shrink tolerance if simplification breaks validity."""
    for t in (tol, tol / 4, tol / 16, 0.0):
        poly = [_to_lonlat(simplify_ring_vectors(r, t)) for r in rings_v]
        if not geometry_problems([poly]):
            return poly
    # Holes touching each other or the outer ring at a pixel corner (pixel-centre contours
    # share a vertex): shrink every hole by 1e-5 of its size towards its vertex mean.
    shrunk = [rings_v[0]]
    for r in rings_v[1:]:
        c = r.mean(axis=0)
        r = r + 1e-5 * (c - r)
        shrunk.append(r / np.linalg.norm(r, axis=1, keepdims=True))
    poly = [_to_lonlat(r) for r in shrunk]
    return poly if not geometry_problems([poly]) else None


def mask_to_geometry(
    mask: NDArray, tolerance_deg: float = 0.1, view: View | None = None
) -> list[list[list[list[float]]]]:
    """Spherical polygons (a geometry) from a bool mask.

    mask: (H, W) equirect mask (when view is None) or a mask in `view`'s pixels.
    tolerance_deg: maximum deviation of the simplified outline (degrees on the sphere; for
    views, measured at the view centre).  Contours pass through boundary pixel centres, so
    the result is about half a pixel inside the mask's outer edge.
    """
    m = (np.asarray(mask) > 0).astype(np.uint8)
    if m.ndim != 2:
        raise ValueError("mask must be 2-D")
    tol = math.radians(tolerance_deg)
    out: list[list[list[list[float]]]] = []
    if view is not None:
        if m.shape != (view.height, view.width):
            raise ValueError("mask shape does not match the view")
        tol_px = max(0.0, math.tan(tol) * view.focal)
        for outer, holes in _contours(m):
            rings = []
            for k, c in enumerate([outer] + holes):
                approx = cv2.approxPolyDP(c.reshape(-1, 1, 2), tol_px, True)[:, 0, :]
                if len(approx) < 3:
                    if k == 0:
                        break
                    continue
                lon, lat = view.pixel_to_lonlat(approx[:, 0], approx[:, 1])
                rings.append(np.stack([lon, lat], axis=1).tolist())
            if rings and not geometry_problems([rings]):
                out.append(rings)
        return out
    h, w = m.shape
    occupied = m.any(axis=0)
    if not occupied.any():
        return out
    empty = np.nonzero(~occupied)[0]
    if empty.size:
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
        for outer, holes in _contours(piece):
            rings_v = []
            for c in [outer] + holes:
                if len(c) < 3:
                    continue
                cc = c.astype(np.float64)
                cc[:, 0] = cc[:, 0] + shift
                rings_v.append(_pixel_ring_to_vec(cc, w, h))
            if not rings_v or len(outer) < 3:
                continue
            poly = _finish(rings_v, tol)
            if poly is not None:
                out.append(poly)
    return out
