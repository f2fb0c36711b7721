"""Merging per-view predictions on the sphere.

Semantic predictions (the project model): per-view class probabilities are pasted back onto
directions of the sphere (an equirect grid of directions) weighted by the view's centre
trust, averaged, and the arg-max is split into connected components (joined across the
seam lon ±180) that become spherical polygons simplified to a tolerance in degrees.

Instance predictions (uploaded models): each view's instance masks become spherical
polygons first; duplicates seen in several views are merged by SPHERICAL IoU (or by
spherical intersection over the smaller area, for an object cut by one view's border), the
most trusted copy (highest score × centre trust, not touching the view border) winning.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy import ndimage

from label360.sphere import (
    View,
    area,
    centroid,
    geometry_problems,
    intersection,
    iou,
    mask_to_geometry,
    view_to_equirect,
)
from label360.sphere.contours import _pixel_ring_to_vec, simplify_ring_vectors

from .coverage import angle_from_centre, centre_weight


@dataclass
class Suggestion:
    """A predicted instance: class name, spherical geometry, score in [0, 1]."""

    class_name: str
    geometry: list
    score: float
    trust: float = 1.0
    extra: dict = field(default_factory=dict)


def fuse_probabilities(
    view_probs: Iterable[tuple[View, np.ndarray]], width: int, height: int, power: float = 4.0
) -> tuple[np.ndarray, np.ndarray]:
    """Centre-weighted average of per-view probabilities on an equirect grid of directions.

    Returns (probabilities (H, W, C) float32, total weight (H, W) float32; 0 = unseen).
    """
    acc: np.ndarray | None = None
    total = np.zeros((height, width), np.float32)
    for view, probs in view_probs:
        w = centre_weight(view, power)
        stack = np.concatenate([probs * w[..., None], w[..., None]], axis=2).astype(np.float32)
        pasted = _paste(stack, view, width, height)
        if acc is None:
            acc = np.zeros((height, width, probs.shape[2]), np.float32)
        acc += pasted[..., :-1]
        total += pasted[..., -1]
    if acc is None:
        raise ValueError("no views")
    fused = acc / np.maximum(total, 1e-12)[..., None]
    return fused, total


def _paste(stack: np.ndarray, view: View, width: int, height: int) -> np.ndarray:
    """view_to_equirect for any number of channels (OpenCV remaps at most 4 at a time)."""
    chunks = []
    for start in range(0, stack.shape[2], 4):
        part = np.ascontiguousarray(stack[..., start : start + 4])
        out, _ = view_to_equirect(part, view, width, height)
        chunks.append(out.reshape(height, width, -1))
    return np.concatenate(chunks, axis=2)


def pixel_solid_angles(width: int, height: int) -> np.ndarray:
    """Solid angle (sr) of each equirect pixel row, shape (H, 1): exact for the row band."""
    edges = np.radians(90.0 - np.arange(height + 1) * 180.0 / height)
    return ((np.sin(edges[:-1]) - np.sin(edges[1:])) * (2.0 * math.pi / width))[:, None]


def seam_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of an equirect mask, joined across the seam (lon ±180)."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return labels, 0
    parent = np.arange(count + 1)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    h = mask.shape[0]
    left, right = labels[:, 0], labels[:, -1]
    for j in range(h):
        for dj in (-1, 0, 1):
            k = j + dj
            if 0 <= k < h and left[j] and right[k]:
                ra, rb = find(int(left[j])), find(int(right[k]))
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(count + 1)])
    _, compact = np.unique(roots, return_inverse=True)
    return compact[labels].reshape(labels.shape), int(compact.max())


def equirect_mask_to_geometry(mask: np.ndarray, tolerance_deg: float) -> list:
    """Spherical polygons of an equirect mask (component), simplified on the sphere.

    Like :func:`label360.sphere.mask_to_geometry` (whose seam rule and spherical
    Douglas-Peucker it reuses) but traces contours with ``CHAIN_APPROX_NONE``: the library
    traces with ``CHAIN_APPROX_SIMPLE``, which turns a long run along an equirect row (a
    parallel, NOT a great circle) into one great-circle chord; for wide regions (buildings)
    those chords cross the outline and the whole region was dropped. Reported to the
    geometry owner; switch back to ``mask_to_geometry`` once it traces densely.
    """
    m = (mask > 0).astype(np.uint8)
    h, w = m.shape
    occupied = m.any(axis=0)
    if not occupied.any():
        return []
    empty = np.nonzero(~occupied)[0]
    if empty.size:
        pieces = [(np.roll(m, -int(empty[0]), axis=1), int(empty[0]))]
    else:  # all columns occupied: two halves of 180°, cut along meridians
        left, right = np.zeros_like(m), np.zeros_like(m)
        left[:, : w // 2], right[:, w // 2 :] = m[:, : w // 2], m[:, w // 2 :]
        pieces = [(left, 0), (right, 0)]
    tol = math.radians(tolerance_deg)
    out = []
    for piece, shift in pieces:
        contours, hier = cv2.findContours(piece, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        if hier is None:
            continue
        for k, outer in enumerate(contours):
            if hier[0][k][3] != -1 or len(outer) < 3:
                continue
            rings = [outer[:, 0, :]]
            child = hier[0][k][2]
            while child != -1:
                if len(contours[child]) >= 3:
                    rings.append(contours[child][:, 0, :])
                child = hier[0][child][0]
            vecs = []
            for ring in rings:
                c = ring.astype(np.float64)
                c[:, 0] += shift
                vecs.append(_pixel_ring_to_vec(c, w, h))
            poly = repair_polygon([_lonlat(simplify_ring_vectors(v, tol)) for v in vecs])
            if poly is not None:
                out.append(poly)
    return out


def _lonlat(v: np.ndarray) -> list[list[float]]:
    from label360.sphere import vec_to_lonlat

    lon, lat = vec_to_lonlat(v)
    return np.stack([lon, lat], axis=1).tolist()


def repair_polygon(rings: list[list[list[float]]], max_steps: int = 200) -> list | None:
    """Drop the vertices the geometry core flags (zero-width spikes of 1-pixel protrusions,
    crossings at pinch points) until the polygon is valid; holes that break are dropped.
    None if the outer ring cannot be repaired."""
    rings = [list(r) for r in rings]
    for _ in range(max_steps):
        problems = geometry_problems([rings])
        if not problems:
            return rings
        p = problems[0]
        if p.ring >= len(rings):
            return None
        if p.vertex is None or len(rings[p.ring]) <= 3:
            if p.ring == 0:
                return None
            del rings[p.ring]
            continue
        del rings[p.ring][p.vertex % len(rings[p.ring])]
    return None


def semantic_suggestions(
    probs: np.ndarray,
    seen: np.ndarray,
    class_names: list[str],
    tolerance_deg: float = 0.3,
    min_area_sr: float = 2e-4,
    min_score: float = 0.0,
) -> list[Suggestion]:
    """Suggestions from fused probabilities (H, W, C); class 0 is background.

    Each connected region of the arg-max of a class becomes one suggestion; its score is the
    solid-angle-weighted mean probability of that class over the region.
    """
    height, width = probs.shape[:2]
    winner = np.argmax(probs, axis=2)
    winner[seen <= 0] = 0
    sr = np.broadcast_to(pixel_solid_angles(width, height), (height, width))
    out: list[Suggestion] = []
    for c in range(1, probs.shape[2]):
        labels, count = seam_components(winner == c)
        if count == 0:
            continue
        areas = ndimage.sum(sr, labels, index=np.arange(1, count + 1))
        scores = ndimage.sum(sr * probs[..., c], labels, index=np.arange(1, count + 1))
        for k in range(count):
            if areas[k] < min_area_sr:
                continue
            score = float(scores[k] / areas[k])
            if score < min_score:
                continue
            geometry = equirect_mask_to_geometry(labels == k + 1, tolerance_deg)
            if geometry:
                out.append(Suggestion(class_names[c], geometry, score))
    return out


def view_instance_suggestions(
    view: View,
    detections: Iterable[tuple[str, float, np.ndarray]],
    tolerance_deg: float = 0.3,
    min_pixels: int = 16,
) -> list[Suggestion]:
    """Instance masks of one view → spherical suggestions with their trust.

    trust = score × cos(angle of the polygon's centroid to the view axis), halved when the
    mask touches the view border (the object is probably cut off there).
    """
    out = []
    for name, score, mask in detections:
        mask = np.asarray(mask, bool)
        if mask.sum() < min_pixels:
            continue
        geometry = mask_to_geometry(mask, tolerance_deg, view=view)
        if not geometry:
            continue
        lon, lat = centroid(geometry)
        trust = float(score) * math.cos(math.radians(min(angle_from_centre(view, lon, lat), 90.0)))
        if mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any():
            trust *= 0.5
        out.append(Suggestion(name, geometry, float(score), trust))
    return out


def merge_duplicates(
    candidates: list[Suggestion], iou_threshold: float = 0.5, cover_threshold: float = 0.8
) -> list[Suggestion]:
    """Greedy merge on the sphere: the most trusted candidate of each duplicate group wins.

    Two candidates of one class are duplicates when their spherical IoU ≥ ``iou_threshold``,
    or their spherical intersection covers ≥ ``cover_threshold`` of the smaller one. The
    winner keeps the best score of its group; ``extra['views']`` counts the group.
    """
    kept: list[Suggestion] = []
    areas: list[float] = []
    for cand in sorted(candidates, key=lambda s: -s.trust):
        a = area(cand.geometry)
        duplicate = None
        for k, other in enumerate(kept):
            if other.class_name != cand.class_name:
                continue
            if iou(cand.geometry, other.geometry) >= iou_threshold:
                duplicate = k
                break
            inter = intersection(cand.geometry, other.geometry)
            if inter and area(inter) >= cover_threshold * min(a, areas[k]):
                duplicate = k
                break
        if duplicate is None:
            cand.extra.setdefault("views", 1)
            kept.append(cand)
            areas.append(a)
        else:
            winner = kept[duplicate]
            winner.score = max(winner.score, cand.score)
            winner.extra["views"] = winner.extra.get("views", 1) + 1
    return kept
