"""The merge's shortcuts give exactly the results of the plain computation: each view is
pasted only onto the grid rows/columns it reaches, and each region is traced on its
bounding box — across the seam and at the poles too."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from inference.prelabel.coverage import centre_weight, cover_views
from inference.prelabel.merge import fuse_probabilities, semantic_suggestions
from label360.sphere import View, iou, view_to_equirect

NAMES = ["background", "building", "car"]


def _plain_fuse(view_probs, width, height, power=4.0):
    """The fusion written out with view_to_equirect of every view on the whole grid."""
    acc = np.zeros((height, width, view_probs[0][1].shape[2]), np.float32)
    total = np.zeros((height, width), np.float32)
    for view, probs in view_probs:
        w = centre_weight(view, power)
        stack = np.concatenate([probs * w[..., None], w[..., None]], axis=2).astype(np.float32)
        parts = []
        for start in range(0, stack.shape[2], 4):
            out, _ = view_to_equirect(np.ascontiguousarray(stack[..., start : start + 4]), view,
                                      width, height)  # fmt: skip
            parts.append(out.reshape(height, width, -1))
        pasted = np.concatenate(parts, axis=2)
        acc += pasted[..., :-1]
        total += pasted[..., -1]
    return acc / np.maximum(total, 1e-12)[..., None], total


def test_fusion_on_crops_equals_pasting_every_view_on_the_whole_grid():
    rng = np.random.default_rng(3)
    views = cover_views(48, 90.0) + [
        View(179.0, 10.0, 5.0, 70.0, 40, 32),  # across the seam, rolled
        View(-30.0, -80.0, 0.0, 120.0, 36, 36),  # over the south pole
        View(0.0, 0.0, 0.0, 20.0, 16, 16),  # narrow
    ]
    view_probs = [(v, rng.random((v.height, v.width, 5)).astype(np.float32)) for v in views]
    for width in (128, 360):
        fused, seen = fuse_probabilities(view_probs, width, width // 2)
        plain, plain_seen = _plain_fuse(view_probs, width, width // 2)
        assert np.array_equal(fused, plain) and np.array_equal(seen, plain_seen)


def _probabilities(width: int) -> np.ndarray:
    """Blobs of two classes: one across the seam, one over each pole, one with holes."""
    height = width // 2
    lab = np.zeros((height, width), int)
    y, x = np.mgrid[0:height, 0:width]
    lab[(np.abs(y - height // 2) < 10) & ((x < 12) | (x >= width - 15))] = 1  # seam
    lab[y < 6] = 2  # north cap
    lab[(y > height - 8) & (x % 90 < 40)] = 1  # south, in pieces
    ring = (np.abs(y - 60) < 20) & (np.abs(x - 200) < 30)
    ring &= ~((np.abs(y - 60) < 6) & (np.abs(x - 200) < 8))  # a big hole
    ring &= ~((y == 50) & (x == 190))  # a one-pixel hole (filled)
    lab[ring] = 2
    lab[(np.abs(y - 100) < 3) & (np.abs(x - 300) < 3)] = 1  # small
    probs = np.eye(3, dtype=np.float32)[lab]
    probs = ndimage.gaussian_filter(probs, (1.5, 1.5, 0))  # soft scores
    return probs / probs.sum(axis=2, keepdims=True)


def test_tracing_regions_on_their_bounding_box_equals_tracing_on_the_whole_grid():
    for width in (360, 512):
        probs = _probabilities(width)
        seen = np.ones(probs.shape[:2], np.float32)
        fast = semantic_suggestions(probs, seen, NAMES, min_area_sr=1e-4)
        plain = semantic_suggestions(probs, seen, NAMES, min_area_sr=1e-4, crop_regions=False)
        assert len(fast) >= 5
        assert [(s.class_name, s.score) for s in fast] == [(s.class_name, s.score) for s in plain]
        for a, b in zip(fast, plain, strict=True):
            if a.geometry != b.geometry:
                # A region touching the image's left or right edge is traced on the whole
                # grid after a roll and a shift back: coordinates equal to ~1e-14, and the
                # simplification may break a tie on another vertex of the same outline.
                assert [len(r) for p in a.geometry for r in p] == [
                    len(r) for p in b.geometry for r in p
                ]
                assert iou(a.geometry, b.geometry) > 0.999
                lons = np.array([v[0] for p in a.geometry for r in p for v in r])
                assert np.abs(lons).max() > 180.0 - 360.0 / width
