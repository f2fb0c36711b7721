"""Quality numbers on the sphere: per-class IoU, instance recall, vertices to move.

Per-class IoU: the union of a class's predicted polygons against the union of its true
polygons, both rasterised exactly (pixel centre inside the polygon) on a fine equirect grid
and every pixel weighted by its solid angle — areas on the sphere, not pixel counts.
Instance recall: a true instance is found when some suggestion of its class has spherical
IoU ≥ 0.5 with it (:func:`label360.sphere.iou`, exact polygons).
Vertices to move: for each matched pair, the suggestion's vertices farther than a tolerance
(degrees) from the true outline, plus true vertices farther than it from the suggestion's
outline (corners the annotator must add or drag).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from label360.sphere import arc_points, iou, lonlat_to_vec, rasterize

from .merge import pixel_solid_angles


@dataclass
class Scores:
    """Accumulated intersections/unions per class and instance matches."""

    inter: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    union: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    found: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    vertices_predicted: int = 0
    vertices_to_move: int = 0
    vertices_true: int = 0
    matched: int = 0

    def iou(self) -> dict[str, float]:
        return {c: self.inter[c] / self.union[c] for c in sorted(self.union) if self.union[c] > 0}

    def mean_iou(self) -> float:
        values = list(self.iou().values())
        return float(np.mean(values)) if values else 0.0

    def recall(self) -> dict[str, float]:
        return {c: self.found[c] / self.total[c] for c in sorted(self.total) if self.total[c]}


def class_masks(items: list[tuple[str, list]], width: int) -> dict[str, np.ndarray]:
    """Union mask per class of (class, geometry) items on a width × width/2 grid."""
    out: dict[str, np.ndarray] = {}
    for name, geometry in items:
        mask = rasterize(geometry, width, width // 2)
        out[name] = out[name] | mask if name in out else mask
    return out


def _outline(geometry: list, step_deg: float = 0.05) -> np.ndarray:
    """Dense unit vectors along every ring of a geometry."""
    pts = []
    for part in geometry:
        for ring in part:
            v = lonlat_to_vec(np.asarray(ring)[:, 0], np.asarray(ring)[:, 1])
            for a, b in zip(v, np.roll(v, -1, axis=0), strict=True):
                n = max(2, int(np.degrees(np.arccos(np.clip(a @ b, -1, 1))) / step_deg) + 2)
                pts.append(arc_points(a, b, n))
    return np.concatenate(pts)


def _far_vertices(geometry: list, outline: np.ndarray, tol_deg: float) -> tuple[int, int]:
    """(vertices of geometry, those farther than tol_deg from the outline points)."""
    verts = np.concatenate(
        [lonlat_to_vec(np.asarray(r)[:, 0], np.asarray(r)[:, 1]) for p in geometry for r in p]
    )
    cos = (verts @ outline.T).max(axis=1)
    return len(verts), int((cos < np.cos(np.radians(tol_deg))).sum())


def _cap(geometry: list) -> tuple[np.ndarray, float]:
    """A spherical cap (unit centre, angular radius in rad) containing the geometry."""
    v = np.concatenate(
        [lonlat_to_vec(np.asarray(p[0])[:, 0], np.asarray(p[0])[:, 1]) for p in geometry]
    )
    c = v.sum(axis=0)
    c = c / max(np.linalg.norm(c), 1e-12)
    return c, float(np.arccos(np.clip(v @ c, -1.0, 1.0)).max())


def _caps_overlap(a: tuple[np.ndarray, float], b: tuple[np.ndarray, float]) -> bool:
    return float(np.arccos(np.clip(a[0] @ b[0], -1.0, 1.0))) <= a[1] + b[1] + 1e-9


def score_panorama(
    scores: Scores,
    truth: list[tuple[str, list]],
    predicted: list[tuple[str, list]],
    grid_width: int = 2048,
    match_iou: float = 0.5,
    vertex_tol_deg: float = 0.5,
) -> None:
    """Add one panorama's comparison to ``scores``."""
    sr = pixel_solid_angles(grid_width, grid_width // 2)
    t_masks = class_masks(truth, grid_width)
    p_masks = class_masks(predicted, grid_width)
    for name in set(t_masks) | set(p_masks):
        t = t_masks.get(name)
        p = p_masks.get(name)
        t = t if t is not None else np.zeros_like(p)
        p = p if p is not None else np.zeros_like(t)
        scores.inter[name] += float(((t & p) * sr).sum())
        scores.union[name] += float(((t | p) * sr).sum())
    # caps are a safe pre-filter when both shapes are smaller than a hemisphere's cap
    p_caps = [_cap(g) for _, g in predicted]
    for name, geometry in truth:
        scores.total[name] += 1
        best, best_iou = None, 0.0
        t_cap = _cap(geometry)
        for k, (p_name, p_geometry) in enumerate(predicted):
            if p_name != name:
                continue
            if max(t_cap[1], p_caps[k][1]) < np.pi / 2 and not _caps_overlap(t_cap, p_caps[k]):
                continue
            value = iou(geometry, p_geometry)
            if value > best_iou:
                best, best_iou = p_geometry, value
        if best is None or best_iou < match_iou:
            continue
        scores.found[name] += 1
        scores.matched += 1
        n_pred, far_pred = _far_vertices(best, _outline(geometry), vertex_tol_deg)
        n_true, far_true = _far_vertices(geometry, _outline(best), vertex_tol_deg)
        scores.vertices_predicted += n_pred
        scores.vertices_true += n_true
        scores.vertices_to_move += far_pred + far_true
