"""The depth pipeline end to end: views → estimator → alignment → fusion → distance map."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from label360.sphere.projection import equirect_to_view

from .align import Alignment, identity_alignment, solve_alignment
from .estimators import DepthEstimator
from .fuse import fuse
from .layouts import make_views
from .project import project_prediction


@dataclass
class DepthOptions:
    layout: str = "cube"
    fov: float | None = None  # default per layout
    view_size: int | None = None  # default: ~ width / 4 (cube), capped
    ring_views: int = 8
    align: bool = True
    align_width: int = 512
    fusion: str = "poisson"
    coarse_width: int = 512
    refine_iterations: int = 10


@dataclass
class DepthResult:
    distance: np.ndarray  # (H, W) float32, distance along the ray, one global unit
    alignment: Alignment
    timings: dict[str, float] = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def default_view_size(width: int, layout: str) -> int:
    per = {"cube": 4, "ring": 5, "icosa": 7}[layout]
    return int(min(max(64, width // per), 1536))


def _to_uint8_rgb(image: np.ndarray) -> np.ndarray:
    """The estimator's input: 8-bit RGB (callers tone-map HDR first; see the job handler)."""
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.dtype != np.uint8:
        raise ValueError("estimate_depth needs 8-bit RGB; tone-map HDR/16-bit images first")
    return np.ascontiguousarray(image[:, :, :3])


def estimate_depth(
    image: np.ndarray,
    estimator: DepthEstimator,
    options: DepthOptions | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> DepthResult:
    """Equirect 8-bit RGB ``image`` (H, W, 3) → fused equirect distance map."""
    opt = options or DepthOptions()
    h, w = image.shape[:2]
    timings: dict[str, float] = {}
    report = progress or (lambda f, m: None)
    t = time.perf_counter()
    rgb = _to_uint8_rgb(image)
    size = opt.view_size or default_view_size(w, opt.layout)
    views = make_views(opt.layout, size, opt.fov, opt.ring_views)
    crops = [
        equirect_to_view(rgb, v.yaw, v.pitch, v.roll, v.hfov, v.width, v.height) for v in views
    ]
    timings["split views"] = time.perf_counter() - t
    t = time.perf_counter()
    preds = []
    for k, (view, crop) in enumerate(zip(views, crops, strict=True)):
        preds.append(estimator.predict(crop, view))
        report(0.1 + 0.5 * (k + 1) / len(views), f"estimated view {k + 1}/{len(views)}")
    kinds = {p.kind for p in preds}
    if len(kinds) != 1:
        raise ValueError(f"estimator returned mixed prediction kinds {kinds}")
    kind = kinds.pop()
    timings["estimate"] = time.perf_counter() - t
    t = time.perf_counter()
    if opt.align:
        aw = min(opt.align_width, w)
        projs = [project_prediction(v, p, aw, aw // 2) for v, p in zip(views, preds, strict=True)]
        alignment = solve_alignment(projs, kind)
    else:
        alignment = identity_alignment(kind, len(views))
    timings["align"] = time.perf_counter() - t
    report(0.7, "aligned view scales")
    t = time.perf_counter()
    fused = fuse(
        views,
        preds,
        alignment,
        w,
        h,
        fusion=opt.fusion,
        coarse_width=opt.coarse_width,
        refine_iterations=opt.refine_iterations,
    )
    timings["fuse"] = time.perf_counter() - t
    for key, value in fused.timings.items():
        timings[f"  fuse: {key}"] = value
    distance = np.exp(fused.log_distance).astype(np.float32)
    info = {
        "views": len(views),
        "view_size": size,
        "layout": opt.layout,
        "fov": views[0].hfov,
        "prediction_kind": kind,
        "alignment_rms": alignment.rms,
        "alignment_equations": alignment.equations,
        "solves": [s.__dict__ for s in fused.solves],
        "estimator": getattr(estimator, "name", type(estimator).__name__),
    }
    return DepthResult(distance, alignment, timings, info)
