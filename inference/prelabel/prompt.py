"""SAM-style interactive segmentation: the image embedding once per view, in a worker; each
click runs only the prompt decoder, in the web request.

* The ``interactive_embedding`` job (interactive queue) renders the view, runs the image
  encoder of the registered ``interactive_segmentation`` weights and stores the embedding
  (float16 ``.npy``) as a job file; the job row is the index of the cache (``params.key`` =
  hash of panorama, view and weights).
* :func:`embedding_for` (web process): an in-process LRU first, then the finished job's file;
  otherwise it queues the job (or finds the one already queued) and waits for it a short
  while. If the worker has not finished by then the caller falls back to GrabCut for this
  click, and later clicks on the same view use the decoder.
* :func:`decode` turns a box and clicks into a view mask with the decoder.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections import OrderedDict

import numpy as np
from django.core.files.storage import default_storage

from annotations.models import Panorama
from inference.models import Job, ModelWeights
from inference.registry import JobError, ParamsError, job_kind
from label360.sphere import View

_LOCK = threading.Lock()
_EMBEDDINGS: OrderedDict[str, np.ndarray] = OrderedDict()
_MODELS: OrderedDict[tuple, object] = OrderedDict()
EMBEDDING_CACHE_SIZE = 8
MODEL_CACHE_SIZE = 2
#: how long a click waits for the worker's embedding before answering with GrabCut
EMBED_WAIT_S = 8.0
POLL_S = 0.05


def interactive_weights() -> ModelWeights | None:
    """The newest registered SAM-style pair, if any."""
    return (
        ModelWeights.objects.filter(task="interactive_segmentation")
        .order_by("-created_at", "-pk")
        .first()
    )


def view_params(view: View) -> dict:
    return {
        "yaw": float(view.yaw),
        "pitch": float(view.pitch),
        "roll": float(view.roll),
        "hfov": float(view.hfov),
        "width": int(view.width),
        "height": int(view.height),
    }


def embedding_key(panorama: Panorama, view: View, weights: ModelWeights) -> str:
    text = json.dumps(
        [panorama.pk, panorama.sha256, view_params(view), weights.pk, weights.version],
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_model(weights: ModelWeights):
    key = (weights.pk, weights.version, weights.file.name, weights.decoder.name)
    with _LOCK:
        if key in _MODELS:
            return _MODELS[key]
    model = weights.build()
    with _LOCK:
        _MODELS[key] = model
        while len(_MODELS) > MODEL_CACHE_SIZE:
            _MODELS.popitem(last=False)
    return model


def _remember(key: str, embedding: np.ndarray) -> np.ndarray:
    with _LOCK:
        _EMBEDDINGS[key] = embedding
        _EMBEDDINGS.move_to_end(key)
        while len(_EMBEDDINGS) > EMBEDDING_CACHE_SIZE:
            _EMBEDDINGS.popitem(last=False)
    return embedding


def _finished(key: str) -> Job | None:
    return (
        Job.objects.filter(kind="interactive_embedding", params__key=key, status="succeeded")
        .order_by("-finished_at", "-pk")
        .first()
    )


def _load(job: Job) -> np.ndarray | None:
    name = (job.result or {}).get("file")
    if not name:
        return None
    try:
        with default_storage.open(name, "rb") as handle:
            return np.load(io.BytesIO(handle.read())).astype(np.float32)
    except (OSError, ValueError):
        return None  # the file went away: compute again


def embedding_for(
    panorama: Panorama,
    view: View,
    weights: ModelWeights,
    requester=None,
    wait_s: float | None = None,
) -> tuple[np.ndarray | None, dict]:
    """(embedding or None, info) for a view; None means 'not ready: use GrabCut now'."""
    from inference.services import DuplicateJob, submit_job

    key = embedding_key(panorama, view, weights)
    with _LOCK:
        if key in _EMBEDDINGS:
            _EMBEDDINGS.move_to_end(key)
            return _EMBEDDINGS[key], {"embedding": "cached"}
    done = _finished(key)
    if done is not None:
        embedding = _load(done)
        if embedding is not None:
            return _remember(key, embedding), {"embedding": "stored", "job": done.pk}
    params = {"weights": weights.pk, "view": view_params(view), "key": key}
    try:
        job = submit_job("interactive_embedding", requester, None, [panorama], params)
    except DuplicateJob as dup:
        job = dup.existing_job
    deadline = time.monotonic() + (EMBED_WAIT_S if wait_s is None else wait_s)
    while time.monotonic() < deadline:
        job.refresh_from_db(fields=["status", "result", "error"])
        if job.status == "succeeded":
            embedding = _load(job)
            if embedding is not None:
                return _remember(key, embedding), {"embedding": "computed", "job": job.pk}
            break
        if job.status in ("failed", "cancelled"):
            return None, {"embedding": job.status, "job": job.pk, "error": job.error}
        time.sleep(POLL_S)
    return None, {"embedding": "pending", "job": job.pk}


def decode(model, embedding: np.ndarray, view: View, box, positive=(), negative=()):
    """(bool mask of the view, predicted IoU) from the decoder."""
    logits, predicted = model.decode(embedding, (view.height, view.width), box, positive, negative)
    return logits > 0.0, predicted


# -- the job --------------------------------------------------------------------------------
def validate_embedding_params(params: dict) -> dict:
    allowed = {"weights", "view", "key"}
    if set(params) - allowed:
        raise ParamsError(f"unknown params: {', '.join(sorted(set(params) - allowed))}")
    pk = params.get("weights")
    weights = None
    if isinstance(pk, int) and not isinstance(pk, bool) and 0 < pk < 2**62:
        weights = ModelWeights.objects.filter(pk=pk).first()
    if weights is None or weights.task != "interactive_segmentation":
        raise ParamsError("weights must be the id of interactive segmentation weights")
    v = params.get("view")
    try:
        view = View(
            float(v["yaw"]), float(v["pitch"]), float(v.get("roll", 0.0)), float(v["hfov"]),
            int(v["width"]), int(v["height"]),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ParamsError(f"view: {exc}") from exc
    finite = all(np.isfinite(x) for x in (view.yaw, view.pitch, view.roll, view.hfov))
    if not (finite and 0 < view.hfov < 180 and 0 < view.width <= 4096 and 0 < view.height <= 4096):
        raise ParamsError("view: hfov in (0, 180), at most 4096² pixels")
    return {
        "weights": weights.pk,
        "view": view_params(view),
        "key": str(params.get("key", ""))[:64],
    }


@job_kind(
    "interactive_embedding",
    queue="interactive",
    label="Image embedding for interactive segmentation",
    validate=validate_embedding_params,
    admin_targets=(),
)
def embedding_job(job, ctx) -> dict:
    """Run the image encoder on one view of a panorama; the embedding is a job file."""
    from .interactive import cached_rgb
    from .predict import view_image

    panorama = job.panoramas.first()
    if panorama is None:
        raise JobError("no panorama")
    weights = ModelWeights.objects.filter(pk=job.params["weights"]).first()
    if weights is None:
        raise JobError(f"model weights #{job.params['weights']} do not exist")
    v = job.params["view"]
    view = View(v["yaw"], v["pitch"], v["roll"], v["hfov"], v["width"], v["height"])
    started = time.perf_counter()
    image = view_image(cached_rgb(panorama), view)
    embedding = cached_model(weights).embed(image)
    buffer = io.BytesIO()
    np.save(buffer, embedding.astype(np.float16))
    name = ctx.save_file("embedding.npy", buffer.getvalue())
    return {
        "file": name,
        "shape": list(embedding.shape),
        "seconds": round(time.perf_counter() - started, 3),
    }


__all__ = ["decode", "embedding_for", "embedding_key", "interactive_weights"]
