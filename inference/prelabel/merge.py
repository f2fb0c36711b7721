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
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy import ndimage

from label360.sphere import (
    View,
    area,
    centroid,
    intersection,
    iou,
    mask_to_geometry,
)
from label360.sphere.contours import seam_components
from label360.sphere.projection import view_to_equirect_maps

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
    Each view is pasted only onto the rows/columns it can reach (:func:`_paste`).
    """
    acc: np.ndarray | None = None
    total = np.zeros((height, width), np.float32)
    for view, probs in view_probs:
        crop = _crop(view, width, height, power)
        stack = np.concatenate(
            [probs * crop.weight[..., None], crop.weight[..., None]], axis=2
        ).astype(np.float32)
        pasted = _paste(stack, crop)
        if acc is None:
            acc = np.zeros((height, width, probs.shape[2]), np.float32)
        acc[crop.rows, crop.cols] += pasted[..., :-1]
        total[crop.rows, crop.cols] += pasted[..., -1]
    if acc is None:
        raise ValueError("no views")
    fused = acc / np.maximum(total, 1e-12)[..., None]
    return fused, total


@dataclass(frozen=True)
class _Crop:
    """Where a view lands on an equirect grid: the bounding rows/columns of the grid pixels
    it covers, the view-pixel coordinates of each (remap maps) and the view's centre weight."""

    rows: slice
    cols: slice
    map_x: np.ndarray
    map_y: np.ndarray
    valid: np.ndarray
    weight: np.ndarray


_CROPS: OrderedDict[tuple, _Crop] = OrderedDict()
_CROPS_LOCK = threading.Lock()
#: two grids' worth of the default 22-view cover
CROP_CACHE_SIZE = 48


def _crop(view: View, width: int, height: int, power: float) -> _Crop:
    """The view's :class:`_Crop` (cached: it depends on angles and sizes only): the
    geometry core's own maps of ``view_to_equirect``, cut to the rows/columns the view
    reaches, so pasting through them equals ``view_to_equirect`` on those pixels."""
    key = (view.yaw, view.pitch, view.roll, view.hfov, view.width, view.height, width, height,
           power)  # fmt: skip
    with _CROPS_LOCK:
        if key in _CROPS:
            _CROPS.move_to_end(key)
            return _CROPS[key]
    map_x, map_y, valid = view_to_equirect_maps(view, width, height)
    rows = np.nonzero(valid.any(axis=1))[0]
    cols = np.nonzero(valid.any(axis=0))[0]
    r = slice(int(rows[0]), int(rows[-1]) + 1) if rows.size else slice(0, 0)
    if cols.size and cols[-1] - cols[0] + 1 == cols.size:
        c = slice(int(cols[0]), int(cols[-1]) + 1)
    else:  # across the seam (or empty): the whole width
        c = slice(0, width if cols.size else 0)
    crop = _Crop(
        r,
        c,
        np.ascontiguousarray(map_x[r, c]),
        np.ascontiguousarray(map_y[r, c]),
        valid[r, c].copy(),
        centre_weight(view, power),
    )
    with _CROPS_LOCK:
        _CROPS[key] = crop
        while len(_CROPS) > CROP_CACHE_SIZE:
            _CROPS.popitem(last=False)
    return crop


def _paste(stack: np.ndarray, crop: _Crop) -> np.ndarray:
    """The view's channels on its crop of the grid, 0 outside the view (OpenCV remaps at
    most 4 channels at a time)."""
    chunks = []
    for start in range(0, stack.shape[2], 4):
        part = np.ascontiguousarray(stack[..., start : start + 4])
        out = cv2.remap(
            part, crop.map_x, crop.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        chunks.append(out.reshape(out.shape[0], out.shape[1], -1))
    pasted = np.concatenate(chunks, axis=2)
    pasted[~crop.valid] = 0.0
    return pasted


def pixel_solid_angles(width: int, height: int) -> np.ndarray:
    """Solid angle (sr) of each equirect pixel row, shape (H, 1): exact for the row band."""
    edges = np.radians(90.0 - np.arange(height + 1) * 180.0 / height)
    return ((np.sin(edges[:-1]) - np.sin(edges[1:])) * (2.0 * math.pi / width))[:, None]


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
    crop_regions: bool = True,
) -> list[Suggestion]:
    """Suggestions from fused probabilities (H, W, C); class 0 is background.

    Each connected region of the arg-max of a class becomes one suggestion; its score is the
    solid-angle-weighted mean probability of that class over the region. Regions are traced
    largest first; ``progress(fraction)`` is called after each (it may raise to cancel), and
    once ``time.monotonic()`` passes ``deadline`` the remaining (smaller) regions are left
    out — ``report`` (a dict, filled in) then says how many. ``crop_regions=False`` traces
    each region on the whole grid instead of its bounding box (the same result; slower).
    """
    height, width = probs.shape[:2]
    winner = np.argmax(probs, axis=2)
    winner[seen <= 0] = 0
    sr = np.broadcast_to(pixel_solid_angles(width, height), (height, width))
    regions = []  # (area, class, labels, component, score, bounding box)
    for c in range(1, probs.shape[2]):
        labels, count = seam_components(winner == c)
        if count == 0:
            continue
        areas = ndimage.sum(sr, labels, index=np.arange(1, count + 1))
        scores = ndimage.sum(sr * probs[..., c], labels, index=np.arange(1, count + 1))
        boxes = ndimage.find_objects(labels, count)
        for k in range(count):
            if areas[k] < min_area_sr:
                continue
            score = float(scores[k] / areas[k])
            if score >= min_score:
                regions.append((float(areas[k]), c, labels, k + 1, score, boxes[k]))
    regions.sort(key=lambda r: -r[0])
    out: list[Suggestion] = []
    done = 0
    for _, c, labels, k, score, box in regions:
        if deadline is not None and time.monotonic() > deadline:
            break
        # Traced on its bounding box (a region joined across the seam spans the whole
        # width): the same outline as on the whole grid, without scanning the whole grid
        # per region — 141 regions of a real panorama took 2 s of component labelling alone.
        rows, cols = box if crop_regions else (slice(0, height), slice(0, width))
        region = _fill_small_holes(labels[rows, cols] == k, sr[rows, cols], min_area_sr)
        geometry = mask_to_geometry(
            region,
            tolerance_deg,
            trace_scale=trace_scale,
            connectivity=8,
            origin=(cols.start, rows.start),
            image_size=(width, height),
        )
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
