"""Pre-labelling a panorama: cover the sphere with views, predict per view, merge.

Two predictor kinds:

* :class:`SemanticPredictor` — the project model (logits (1, C, H, W), class 0 background);
  probabilities are fused on the sphere (:func:`merge.fuse_probabilities`).
* :class:`contract.InstancePredictor` — an uploaded instance-segmentation model; per-view
  instances are merged by spherical IoU (:func:`merge.merge_duplicates`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from label360.sphere import View, equirect_to_view

from .coverage import cover_views
from .merge import (
    Suggestion,
    fuse_probabilities,
    merge_duplicates,
    semantic_suggestions,
    view_instance_suggestions,
)

Progress = Callable[[float], None]


def view_image(rgb: np.ndarray, view: View) -> np.ndarray:
    """The uint8 RGB view of an equirect image."""
    return equirect_to_view(
        rgb, view.yaw, view.pitch, view.roll, view.hfov, view.width, view.height
    )


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) or (H, W, 3) → float (N, 3, H, W) in 0–1."""
    if images.ndim == 3:
        images = images[None]
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0


@dataclass
class SemanticPredictor:
    """A TorchScript (or eager) semantic model: input 0–1 RGB, output logits."""

    module: torch.nn.Module
    class_names: list[str]  # index 0 is "background"
    view_size: int = 160
    #: test-time augmentation: average with the prediction of the mirrored view
    flip: bool = False
    #: torch CPU threads for inference (0: leave torch's setting). The network is small: with
    #: 2 threads on the shared 2-core machine its OpenMP workers spin against the other
    #: processes (22 views + flips of a real panorama: 11.3 s of CPU with 2 threads, 1.6 s
    #: with 1, load average 10), so 1 is the default — as for training.
    threads: int = 1

    @torch.no_grad()
    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Softmax probabilities (N, H, W, C) float32 for uint8 images (N, H, W, 3)."""
        if self.threads > 0 and torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)  # process-wide, as TrainConfig.threads
        x = to_tensor(images)
        probs = torch.softmax(self.module(x).float(), dim=1)
        if self.flip:
            mirrored = torch.softmax(self.module(x.flip(3)).float(), dim=1).flip(3)
            probs = 0.5 * (probs + mirrored)
        return probs.permute(0, 2, 3, 1).numpy()


def prelabel_semantic(
    rgb: np.ndarray,
    predictor: SemanticPredictor,
    grid_width: int | None = None,
    tolerance_deg: float = 0.3,
    min_area_sr: float = 2e-4,
    min_score: float = 0.0,
    hfov: float = 90.0,
    progress: Progress | None = None,
    trace_scale: int = 4,
    deadline: float | None = None,
    report: dict | None = None,
) -> list[Suggestion]:
    """Suggestions of the project model for one equirect image (uint8 RGB).

    ``progress(fraction)``: the views take the first half, tracing the regions the second
    (it may raise to cancel). ``deadline`` / ``report``: see :func:`merge.semantic_suggestions`.
    """
    width = grid_width or min(rgb.shape[1], 2048)
    width -= width % 2
    views = cover_views(predictor.view_size, hfov)

    def per_view():
        for k, view in enumerate(views):
            probs = predictor.probabilities(view_image(rgb, view)[None])[0]
            if progress:
                progress(0.5 * (k + 1) / len(views))
            yield view, probs

    fused, seen = fuse_probabilities(per_view(), width, width // 2)
    return semantic_suggestions(
        fused,
        seen,
        predictor.class_names,
        tolerance_deg,
        min_area_sr,
        min_score,
        trace_scale,
        progress=(lambda f: progress(0.5 + 0.5 * f)) if progress else None,
        deadline=deadline,
        report=report,
    )


def prelabel_instances(
    rgb: np.ndarray,
    predictor,
    tolerance_deg: float = 0.3,
    hfov: float = 90.0,
    iou_threshold: float = 0.5,
    progress: Progress | None = None,
) -> list[Suggestion]:
    """Suggestions of an instance model (see :mod:`.contract`) for one equirect image."""
    views = cover_views(predictor.view_size, hfov)
    candidates: list[Suggestion] = []
    for k, view in enumerate(views):
        detections = predictor.detect(view_image(rgb, view))
        candidates += view_instance_suggestions(view, detections, tolerance_deg)
        if progress:
            progress(0.8 * (k + 1) / len(views))
    return merge_duplicates(
        candidates,
        iou_threshold,
        progress=(lambda f: progress(0.8 + 0.2 * f)) if progress else None,
    )
