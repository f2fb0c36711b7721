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
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from label360.sphere import (
    View,
    area,
    centroid,
    intersection,
    iou,
    mask_to_geometry,
    view_to_equirect,
)

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


def semantic_suggestions(
    probs: np.ndarray,
    seen: np.ndarray,
    class_names: list[str],
    tolerance_deg: float = 0.3,
    min_area_sr: float = 2e-4,
    min_score: float = 0.0,
    trace_scale: int = 4,
    progress: Callable[[float], None] | None = None,
    deadline: float | None = None,
    report: dict | None = None,
) -> list[Suggestion]:
    """Suggestions from fused probabilities (H, W, C); class 0 is background.

    Each connected region of the arg-max of a class becomes one suggestion; its score is the
    solid-angle-weighted mean probability of that class over the region. Regions are traced
    largest first; ``progress(fraction)`` is called after each (it may raise to cancel), and
    once ``time.monotonic()`` passes ``deadline`` the remaining (smaller) regions are left
    out — ``report`` (a dict, filled in) then says how many.
    """
    height, width = probs.shape[:2]
    winner = np.argmax(probs, axis=2)
    winner[seen <= 0] = 0
    sr = np.broadcast_to(pixel_solid_angles(width, height), (height, width))
    regions = []  # (area, class, labels, component, score)
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
            if score >= min_score:
                regions.append((float(areas[k]), c, labels, k + 1, score))
    regions.sort(key=lambda r: -r[0])
    out: list[Suggestion] = []
    done = 0
    for _, c, labels, k, score in regions:
        if deadline is not None and time.monotonic() > deadline:
            break
        region = _fill_small_holes(labels == k, sr, min_area_sr)
        geometry = mask_to_geometry(region, tolerance_deg, trace_scale=trace_scale, connectivity=8)
        geometry = _without_specks(geometry, min_area_sr)
        if geometry:
            out.append(Suggestion(class_names[c], geometry, score))
        done += 1
        if progress:
            progress(done / len(regions))
    if report is not None:
        report.update({"regions": len(regions), "traced": done, "truncated": done < len(regions)})
    return out


def _fill_small_holes(region: np.ndarray, sr: np.ndarray, min_area_sr: float) -> np.ndarray:
    """The region with its holes smaller than `min_area_sr` filled: in a prediction they are
    noise (an annotator would only delete them), and the outline stays simple."""
    rows = np.nonzero(region.any(axis=1))[0]
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    band = region[r0:r1]
    holes = ndimage.binary_fill_holes(band) & ~band
    if not holes.any():
        return region
    lab, n = ndimage.label(holes)
    sizes = ndimage.sum(sr[r0:r1], lab, index=np.arange(1, n + 1))
    small = np.concatenate([[False], sizes < min_area_sr])
    out = region.copy()
    out[r0:r1] |= small[lab]
    return out


def _without_specks(geometry: list, min_area_sr: float) -> list:
    """The parts of a region's geometry that are at least `min_area_sr` (the largest is always
    kept): the tracer splits a region at pixel corners into separate parts, and for noisy
    predictions the small ones are specks an annotator would only have to delete."""
    if len(geometry) <= 1:
        return geometry
    sizes = [area([part]) for part in geometry]
    big = max(range(len(geometry)), key=sizes.__getitem__)
    return [p for i, p in enumerate(geometry) if i == big or sizes[i] >= min_area_sr]


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
    candidates: list[Suggestion],
    iou_threshold: float = 0.5,
    cover_threshold: float = 0.8,
    progress: Callable[[float], None] | None = None,
) -> list[Suggestion]:
    """Greedy merge on the sphere: the most trusted candidate of each duplicate group wins.

    Two candidates of one class are duplicates when their spherical IoU ≥ ``iou_threshold``,
    or their spherical intersection covers ≥ ``cover_threshold`` of the smaller one. The
    winner keeps the best score of its group; ``extra['views']`` counts the group.
    """
    kept: list[Suggestion] = []
    areas: list[float] = []
    ordered = sorted(candidates, key=lambda s: -s.trust)
    for n, cand in enumerate(ordered):
        if progress:
            progress(n / max(len(ordered), 1))
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
