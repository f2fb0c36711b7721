"""Interactive box tool: latency and quality of every backend, object by object, in one run.

For synthetic objects (unoccluded car/tree/person/pole and buildings), a 1024×768 view is
centred on the object with a FOV that makes its box about 512 px wide. Rows, interleaved
object by object so they share the machine's load:

* **GrabCut** (the fallback, and the answer when no SAM-style model is registered): view
  render + GrabCut on the region scaled to ≤ ``--max-side`` px (edge band re-decided at full
  resolution) + polygon — what POST /api/prelabel/interactive/ does once the panorama is
  cached. ``--baseline`` also times GrabCut at ≤ 512 px without refinement.
* **GrabCut + project-model prior, always** and **… gated** (the server's rule,
  ``interactive.prior_allowed``: the prior only for classes whose validation IoU ≥
  ``PRIOR_MIN_IOU``). The project model is trained here on synthetic streets (seeds 0…,
  short: ``--prior-iterations``), or loaded from ``--prior-model`` (a TorchScript written by
  ``bench/prelabel.py --save``); its validation IoU per class is measured on street 999
  as in the training job.
* **SAM-style ONNX pair** (``interactive_segmentation`` contract, :mod:`inference.prelabel.prompt`):
  the image embedding once per view (the worker's job; stored as float16 like the job file),
  then the decoder per click (the web request): box → mask → largest region → polygon; a
  second click (positive, at the box centre) is timed too. ``--prompt-encoder`` /
  ``--prompt-decoder`` take a real export (SAM / MobileSAM ONNX); without them the
  contract-shaped pair of ``tests/registry/onnx_graphs.py`` is used — a colour-distance
  decoder, not a trained SAM: its timings show the path's cost (embedding once, decoder per
  click), its IoU says nothing about SAM's quality.

Reports median / p90 ms and the spherical IoU with the true object, per class.

    .venv/bin/python bench/interactive.py [--seeds 3] [--prior-model m.pt] [--no-prompt]
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label360.settings")

import django  # noqa: E402

django.setup()  # the server's interactive module imports the models

from inference.model_contracts import build_model  # noqa: E402
from inference.prelabel.grabcut import _keep_main, segment_box  # noqa: E402
from inference.prelabel.interactive import PRIOR_MIN_IOU, model_prior, prior_allowed  # noqa: E402
from inference.prelabel.metrics import Scores, score_panorama  # noqa: E402
from inference.prelabel.network import load_torchscript  # noqa: E402
from inference.prelabel.predict import SemanticPredictor, prelabel_semantic, view_image  # noqa: E402
from label360.sphere import View, centroid, geometry_to_view, iou, mask_to_geometry  # noqa: E402
from label360.synthetic import render  # noqa: E402

NAMES = ["background", "building", "car", "person", "tree", "pole"]
TOLERANCE_DEG = 0.2  # the endpoint's default


def objects(seeds: int, width: int):
    """(panorama rgb, class, true geometry, view, box) of every unoccluded object."""
    for seed in range(seeds):
        r = render("street", 50 + seed, width)
        for a in r.annotations:
            if not a["geometry"] or a["occluded"] or a["area_sr"] < 3e-4:
                continue
            lon, lat = centroid(a["geometry"])
            extent = math.degrees(2 * math.sqrt(a["area_sr"]))
            hfov = min(120.0, max(10.0, extent * 2.0))
            view = View(lon, lat, 0.0, hfov, 1024, 768)
            pts = np.concatenate([q for p in geometry_to_view(a["geometry"], view) for q in p])
            box = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
            yield r.rgb, a["class"], a["geometry"], view, box


def truth_of(r) -> list[tuple[str, list]]:
    return [(a["class"], a["geometry"]) for a in r.annotations if a["geometry"]]


def project_model(args) -> tuple[SemanticPredictor, dict[str, float], str]:
    """(predictor as the server builds it, validation IoU per class, description)."""
    from inference.prelabel.samples import LabelledPanorama
    from inference.prelabel.training import TrainConfig, train_project_model

    val = render("street", 999, 1024)
    size = TrainConfig().predict_view_size
    if args.prior_model:
        with open(args.prior_model, "rb") as handle:
            module = load_torchscript(handle.read())
        scores = Scores()
        found = prelabel_semantic(val.rgb, SemanticPredictor(module, NAMES, size), 1024)
        score_panorama(scores, truth_of(val), [(s.class_name, s.geometry) for s in found], 1024)
        val_iou, what = scores.iou(), f"loaded from {args.prior_model}"
    else:
        t = time.perf_counter()
        train = []
        for seed in range(args.prior_train):
            r = render("street", seed, 1024)
            train.append(LabelledPanorama(r.rgb, [(NAMES.index(c), g) for c, g in truth_of(r)]))
        config = TrainConfig(iterations=args.prior_iterations, validations=1)
        result = train_project_model(train, NAMES, [(val.rgb, truth_of(val))], config)
        module, val_iou = result.model, result.val_iou
        what = (
            f"trained here: {args.prior_train} streets, {args.prior_iterations} iterations "
            f"(the job's default is {TrainConfig().iterations}), {time.perf_counter() - t:.0f} s"
        )
        if args.save_prior:
            with open(args.save_prior, "wb") as handle:
                handle.write(result.torchscript)
    # as interactive.cached_predictor: the weights' input size, no test-time flip
    return SemanticPredictor(module, NAMES, size), val_iou, what


def prompt_model(args):
    """(PromptModel, description): a real SAM-style export, or the contract-shaped pair."""
    if args.prompt_encoder:
        encoder = Path(args.prompt_encoder).read_bytes()
        decoder = Path(args.prompt_decoder).read_bytes()
        what = f"{args.prompt_encoder} + {args.prompt_decoder}"
    else:
        from tests.registry import onnx_graphs as g

        encoder, decoder = (
            g.sam_encoder_like(args.prompt_size),
            g.sam_decoder_like(args.prompt_size),
        )
        what = (
            "contract-shaped pair of tests/registry/onnx_graphs.py (colour-distance decoder, "
            "NOT a trained SAM: timings of the path only)"
        )
    model = build_model(
        "interactive_segmentation",
        encoder,
        input_size=args.prompt_size,
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225],
        decoder=decoder,
    )
    return model, what


def prompt_answer(model, embedding, view, box, positive=()):
    """The endpoint's prompt-model path: decoder, largest region, polygon."""
    logits, _predicted = model.decode(embedding, (view.height, view.width), box, positive, ())
    mask = logits > 0.0
    mask = _keep_main(mask, list(positive)) if mask.any() else mask
    return mask_to_geometry(mask, TOLERANCE_DEG, view=view) if mask.any() else []


def summary(name: str, ms: list[float], ious: list[float], extra: str = "") -> str:
    return (
        f"| {name} | {np.median(ms):.0f} | {np.percentile(ms, 90):.0f} | {np.mean(ious):.3f} |"
        f" {np.median(ious):.3f} |{extra}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--max-side", type=int, default=256)
    ap.add_argument("--no-refine", action="store_true")
    ap.add_argument("--out", default="bench/interactive_results.md")
    ap.add_argument("--baseline", type=int, default=512,
                    help="also time GrabCut on ≤ this many px without refinement; 0 to skip")  # fmt: skip
    ap.add_argument("--no-prior", dest="prior", action="store_false")
    ap.add_argument("--prior-model", help="TorchScript from bench/prelabel.py --save")
    ap.add_argument("--prior-train", type=int, default=6, help="streets to train on")
    ap.add_argument("--prior-iterations", type=int, default=300)
    ap.add_argument("--save-prior", help="write the trained TorchScript here")
    ap.add_argument("--no-prompt", dest="prompt", action="store_false")
    ap.add_argument("--prompt-encoder", help="SAM-style image encoder (ONNX)")
    ap.add_argument("--prompt-decoder", help="SAM-style prompt decoder (ONNX)")
    ap.add_argument("--prompt-size", type=int, default=1024, help="encoder input size")
    args = ap.parse_args()
    if bool(args.prompt_encoder) != bool(args.prompt_decoder):
        ap.error("give both --prompt-encoder and --prompt-decoder")

    header = []
    predictor = val_iou = sam = None
    if args.prior:
        predictor, val_iou, what = project_model(args)
        gate = SimpleNamespace(validation={"iou": val_iou})
        header.append(
            f"Project model for the prior: {what}; validation IoU on street 999: "
            + ", ".join(f"{k} {v:.2f}" for k, v in sorted(val_iou.items()))
            + f" (prior used by the gate where ≥ {PRIOR_MIN_IOU})."
        )
    if args.prompt:
        sam, what = prompt_model(args)
        header.append(f"SAM-style pair: {what}; encoder input {args.prompt_size} px.")

    rows = {k: [] for k in ("grabcut", "baseline", "always", "gated", "sam", "sam_click")}
    per_class: dict[str, dict[str, list[float]]] = {}
    embed_ms: list[float] = []
    load0 = os.getloadavg()[0]
    for rgb, name, truth, view, box in objects(args.seeds, args.width):
        t0 = time.perf_counter()
        image = view_image(rgb, view)
        render_ms = 1000 * (time.perf_counter() - t0)
        cls = per_class.setdefault(name, {k: [] for k in rows})

        def record(key: str, ms: float, geometry, truth=truth, cls=cls) -> None:
            value = iou(geometry, truth) if geometry else 0.0
            rows[key].append((ms, value))
            cls[key].append(value)

        t = time.perf_counter()
        plain = segment_box(image, view, box, max_side=args.max_side, refine=not args.no_refine)
        plain_ms = render_ms + 1000 * (time.perf_counter() - t)
        record("grabcut", plain_ms, plain.geometry)
        if args.baseline:
            t = time.perf_counter()
            ref = segment_box(image, view, box, max_side=args.baseline, refine=False)
            record("baseline", render_ms + 1000 * (time.perf_counter() - t), ref.geometry)
        if predictor is not None:
            t = time.perf_counter()
            prior = model_prior(predictor, image, box, name, view)
            seeded = segment_box(
                image, view, box, prior=prior, max_side=args.max_side, refine=not args.no_refine
            )
            seeded_ms = render_ms + 1000 * (time.perf_counter() - t)
            record("always", seeded_ms, seeded.geometry)
            use, _why = prior_allowed(gate, name)
            record("gated", seeded_ms if use else plain_ms, (seeded if use else plain).geometry)
        if sam is not None:
            t = time.perf_counter()
            embedding = sam.embed(image)  # the worker's job, once per view
            buffer = io.BytesIO()
            np.save(buffer, embedding.astype(np.float16))  # stored as the job file
            embedding = np.load(io.BytesIO(buffer.getvalue())).astype(np.float32)
            embed_ms.append(render_ms + 1000 * (time.perf_counter() - t))
            t = time.perf_counter()
            geometry = prompt_answer(sam, embedding, view, box)
            record("sam", 1000 * (time.perf_counter() - t), geometry)
            centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
            t = time.perf_counter()
            geometry = prompt_answer(sam, embedding, view, box, [centre])
            record("sam_click", 1000 * (time.perf_counter() - t), geometry)

    n = len(rows["grabcut"])
    load1 = os.getloadavg()[0]
    labels = {
        "grabcut": f"GrabCut ≤ {args.max_side} px{'' if args.no_refine else ' + edge refinement'}"
        " (render + GrabCut + polygon)",
        "baseline": f"GrabCut ≤ {args.baseline} px, no refinement (render + GrabCut + polygon)",
        "always": "GrabCut + project-model prior, always (render + prior + GrabCut + polygon)",
        "gated": f"GrabCut + prior only where validation IoU ≥ {PRIOR_MIN_IOU} (the server's rule)",
        "sam": "SAM-style: decoder per click, box only (decoder + polygon; embedding cached)",
        "sam_click": "SAM-style: decoder per click, box + 1 positive click",
    }
    lines = [
        "## Interactive box tool (all backends, interleaved object by object)",
        "",
        f"{n} unoccluded objects of synthetic streets {50}–{50 + args.seeds - 1} ({args.width} px),"
        " views 1024×768 with the box about half the view. Load average"
        f" {load0:.1f} → {load1:.1f} on {os.cpu_count()} cores while measuring (shared machine).",
        "",
        *header,
        "",
        "| backend | median ms | p90 ms | mean IoU | median IoU |",
        "|---|---|---|---|---|",
    ]
    for key, label in labels.items():
        if rows[key]:
            ms, ious = zip(*rows[key], strict=True)
            lines.append(summary(label, list(ms), list(ious)))
    if embed_ms:
        lines.append(
            f"| SAM-style: image embedding, once per view in the worker (render + encoder) |"
            f" {np.median(embed_ms):.0f} | {np.percentile(embed_ms, 90):.0f} | | |"
        )
    keys = [k for k in labels if rows[k]]
    lines += [
        "",
        "Mean spherical IoU per class:",
        "",
        "| class | n | " + " | ".join(keys) + " |",
        "|---|---|" + "---|" * len(keys),
    ]
    for name in sorted(per_class):
        c = per_class[name]
        lines.append(
            f"| {name} | {len(c['grabcut'])} | "
            + " | ".join(f"{np.mean(c[k]):.3f}" for k in keys)
            + " |"
        )
    lines += ["", "Command: `.venv/bin/python bench/interactive.py " + " ".join(sys.argv[1:]) + "`"]
    text = "\n".join(lines)
    print(text)
    with open(args.out, "w") as handle:
        handle.write(text + "\n")


if __name__ == "__main__":
    main()
