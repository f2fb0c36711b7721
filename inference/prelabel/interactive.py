"""The interactive box tool, server side: render the view, GrabCut, optional model prior.

Synchronous in the web request (see docs/prelabel.md for why): decoded panoramas and the
project model are cached per process, so a request costs a view render plus GrabCut.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import cv2
import numpy as np

from annotations.models import Panorama
from inference.models import ModelWeights
from label360.sphere import View

from .contract import semantic_module
from .grabcut import InteractiveResult, segment_box
from .predict import SemanticPredictor, view_image

_LOCK = threading.Lock()
_PIXELS: OrderedDict[tuple, np.ndarray] = OrderedDict()
_MODELS: OrderedDict[tuple, SemanticPredictor] = OrderedDict()
PIXEL_CACHE_SIZE = 3
MODEL_CACHE_SIZE = 2


def cached_rgb(panorama: Panorama) -> np.ndarray:
    """The panorama's uint8 RGB pixels, decoded once per process (small LRU)."""
    from .jobs import panorama_rgb

    key = (panorama.pk, panorama.sha256)
    with _LOCK:
        if key in _PIXELS:
            _PIXELS.move_to_end(key)
            return _PIXELS[key]
    rgb = panorama_rgb(panorama)
    with _LOCK:
        _PIXELS[key] = rgb
        while len(_PIXELS) > PIXEL_CACHE_SIZE:
            _PIXELS.popitem(last=False)
    return rgb


def cached_predictor(weights: ModelWeights) -> SemanticPredictor:
    key = (weights.pk, weights.version, weights.file.name)
    with _LOCK:
        if key in _MODELS:
            return _MODELS[key]
    predictor = SemanticPredictor(
        semantic_module(weights.build()), list(weights.class_names), weights.input_size
    )
    with _LOCK:
        _MODELS[key] = predictor
        while len(_MODELS) > MODEL_CACHE_SIZE:
            _MODELS.popitem(last=False)
    return predictor


def model_prior(
    predictor: SemanticPredictor,
    image: np.ndarray,
    box,
    class_name: str,
    view: View | None = None,
    max_side: int = 384,
) -> np.ndarray | None:
    """Probability of ``class_name`` over the box region (+50 % context) of a view; 0 elsewhere.

    The region is resampled to the angular resolution the model predicts at in pre-labelling
    (``view_size`` px over 90°): the model was trained on objects at that scale, and a person
    blown up to fill a 192 px input is something it has never seen. Without ``view`` the
    region is scaled to ``max_side`` px.
    """
    if class_name not in predictor.class_names:
        return None
    c = predictor.class_names.index(class_name)
    h, w = image.shape[:2]
    x0, y0, x1, y1 = box
    if view is not None:
        # the model predicts on 90-degree views of view_size px: focal length view_size / 2
        scale = (predictor.view_size / 2) / view.focal
    else:
        scale = max_side / max(x1 - x0, y1 - y0, 1.0)
    scale = min(scale, max_side / max(1.5 * (x1 - x0), 1.5 * (y1 - y0), 1.0))
    # context for the network: half the box on each side, and at least 16 model pixels
    mx = 0.5 * (x1 - x0) + 16 / scale
    my = 0.5 * (y1 - y0) + 16 / scale
    rx0, ry0 = max(0, int(x0 - mx)), max(0, int(y0 - my))
    rx1, ry1 = min(w, int(x1 + mx) + 1), min(h, int(y1 + my) + 1)
    crop = image[ry0:ry1, rx0:rx1]
    sw = max(32, int(round(crop.shape[1] * scale / 8)) * 8)
    sh = max(32, int(round(crop.shape[0] * scale / 8)) * 8)
    interpolation = cv2.INTER_AREA if sw < crop.shape[1] else cv2.INTER_LINEAR
    small = cv2.resize(crop, (sw, sh), interpolation=interpolation)
    probs = predictor.probabilities(small[None])[0][..., c]
    prior = np.zeros((h, w), np.float32)
    prior[ry0:ry1, rx0:rx1] = cv2.resize(
        probs, (rx1 - rx0, ry1 - ry0), interpolation=cv2.INTER_LINEAR
    )
    return prior


def suggest(
    panorama: Panorama,
    view: View,
    box: tuple[float, float, float, float],
    positive=(),
    negative=(),
    class_name: str | None = None,
    weights: ModelWeights | None = None,
    tolerance_deg: float = 0.2,
) -> tuple[InteractiveResult, dict]:
    """Segment ``box`` of ``view`` of the panorama; returns (result, timings in ms)."""
    t0 = time.perf_counter()
    rgb = cached_rgb(panorama)
    t1 = time.perf_counter()
    image = view_image(rgb, view)
    t2 = time.perf_counter()
    prior = None
    if weights is not None and class_name:
        prior = model_prior(cached_predictor(weights), image, box, class_name, view)
    t3 = time.perf_counter()
    result = segment_box(
        image, view, box, positive, negative, prior=prior, tolerance_deg=tolerance_deg
    )
    t4 = time.perf_counter()
    timings = {
        "pixels_ms": round(1000 * (t1 - t0), 1),
        "view_ms": round(1000 * (t2 - t1), 1),
        "model_ms": round(1000 * (t3 - t2), 1),
        "grabcut_ms": round(1000 * (t4 - t3), 1),
        "total_ms": round(1000 * (t4 - t0), 1),
        "refined_by_model": result.used_prior,
    }
    return result, timings


#: the project model seeds GrabCut only for classes whose validation IoU reaches this: on
#: held-out objects a poorly learned class (e.g. pole) made GrabCut worse, not better
PRIOR_MIN_IOU = 0.8
#: a box covering at least this fraction of the view leaves GrabCut no background to learn
WHOLE_VIEW_FRACTION = 0.9


def prior_allowed(weights: ModelWeights | None, class_name: str | None) -> tuple[bool, str]:
    """(use the project model as a prior for this class?, why)."""
    if weights is None or not class_name:
        return False, "no project model" if weights is None else "no class chosen"
    iou = ((weights.validation or {}).get("iou") or {}).get(class_name)
    if iou is None:
        return False, f"the project model has no validation score for {class_name!r}"
    if iou < PRIOR_MIN_IOU:
        return False, (
            f"the project model's validation IoU for {class_name!r} is {iou:.2f} "
            f"(< {PRIOR_MIN_IOU}): not trusted as a prior"
        )
    return True, f"validation IoU {iou:.2f}"


def box_problem(view: View, box) -> str | None:
    """Why a box cannot be segmented (None if it can)."""
    if not all(np.isfinite(float(v)) for v in box):
        return "the box coordinates must be finite numbers"
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = sorted((max(0.0, x0), min(float(view.width), x1)))
    y0, y1 = sorted((max(0.0, y0), min(float(view.height), y1)))
    if (x1 - x0) * (y1 - y0) >= WHOLE_VIEW_FRACTION * view.width * view.height:
        return (
            "the box covers the whole view: there is no background around the object to tell "
            "it from; draw a box around one object"
        )
    return None


def respond(
    panorama: Panorama,
    view: View,
    box,
    positive=(),
    negative=(),
    class_name: str | None = None,
    project_weights: ModelWeights | None = None,
    tolerance_deg: float = 0.2,
    requester=None,
) -> dict:
    """The answer of POST /api/prelabel/interactive/ (without ``label_class``).

    A registered SAM-style pair answers with its decoder once the view's embedding exists
    (the first click on a view queues it and waits briefly); otherwise, and as the fallback,
    GrabCut — seeded by the project model only for classes it is good at.
    """
    from label360.sphere import mask_to_geometry

    from . import prompt
    from .grabcut import _keep_main

    problem = box_problem(view, box)
    if problem is not None:
        return {"geometry": [], "score": 0.0, "reason": problem, "backend": None, "timings": {}}
    t0 = time.perf_counter()
    sam = prompt.interactive_weights()
    info: dict = {}
    if sam is not None:
        embedding, info = prompt.embedding_for(panorama, view, sam, requester)
        t1 = time.perf_counter()
        if embedding is not None:
            mask, predicted = prompt.decode(
                prompt.cached_model(sam), embedding, view, box, positive, negative
            )
            clicks = [(float(x), float(y)) for x, y in positive]
            mask = _keep_main(mask, clicks) if mask.any() else mask
            geometry = mask_to_geometry(mask, tolerance_deg, view=view) if mask.any() else []
            t2 = time.perf_counter()
            return {
                "geometry": geometry,
                "score": round(float(np.clip(predicted, 0.0, 1.0)), 4) if geometry else 0.0,
                "reason": None if geometry else "the model found nothing in the box",
                "backend": "prompt_model",
                "model": f"{sam.name} v{sam.version}",
                "timings": {
                    "embedding_ms": round(1000 * (t1 - t0), 1),
                    "decoder_ms": round(1000 * (t2 - t1), 1),
                    "total_ms": round(1000 * (t2 - t0), 1),
                    **info,
                },
            }
    use_prior, why = prior_allowed(project_weights, class_name)
    result, timings = suggest(
        panorama,
        view,
        box,
        positive,
        negative,
        class_name,
        project_weights if use_prior else None,
        tolerance_deg,
    )
    timings["prior"] = why
    if info:
        timings.update({f"prompt_{k}": v for k, v in info.items()})
    return {
        "geometry": result.geometry,
        "score": result.score,
        "reason": None if result.geometry else "nothing found in the box",
        "backend": "grabcut",
        "timings": timings,
    }
