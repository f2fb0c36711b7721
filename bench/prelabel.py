"""Pre-labelling benchmark on synthetic streets, and its speed on real panoramas.

Trains the project model on N synthetic panoramas labelled from exact ground truth,
pre-labels M unseen ones and reports per-class spherical IoU, instance recall (spherical
IoU ≥ 0.5) and how many vertices an annotator would have to move (> 0.5° off the true
outline). Also an ORACLE row: the merge/polygon stage fed with perfect per-pixel classes,
which bounds what the pipeline can reach with a perfect network.

    .venv/bin/python bench/prelabel.py            # the best setting = the job defaults
    .venv/bin/python bench/prelabel.py --help     # every knob

SPEED ON REAL PANORAMAS (``--real``): the ``prelabel`` job's path — downscale to the job's
``MAX_TRAIN_WIDTH``, 22 views with test-time flip, fusion, the merge traced largest region
first under the job's time budget — timed on the Poly Haven panoramas of ``data/polyhaven/``
(tone-mapped to 8 bit, resized to each ``--real-widths``), with a model trained here or
loaded with ``--load``. Goal: ≤ 3 s per 1024-wide panorama, ≤ 15 s at 4096.

    .venv/bin/python bench/prelabel.py --real --load model.pt
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from inference.prelabel.merge import semantic_suggestions
from inference.prelabel.metrics import Scores, score_panorama
from inference.prelabel.network import load_torchscript
from inference.prelabel.predict import SemanticPredictor, prelabel_semantic
from inference.prelabel.samples import LabelledPanorama
from inference.prelabel.training import TrainConfig, TrainResult, train_project_model
from label360.synthetic import CLASS_IDS, render

NAMES = ["background", "building", "car", "person", "tree", "pole"]


def truth_of(r) -> list[tuple[str, list]]:
    return [(a["class"], a["geometry"]) for a in r.annotations if a["geometry"]]


def table(title: str, scores: Scores) -> str:
    iou, recall = scores.iou(), scores.recall()
    lines = [f"### {title}", "", "| class | spherical IoU | instance recall | true instances |"]
    lines.append("|---|---|---|---|")
    for name in NAMES[1:]:
        lines.append(
            f"| {name} | {iou.get(name, float('nan')):.3f} | {recall.get(name, float('nan')):.3f}"
            f" | {scores.total.get(name, 0)} |"
        )
    found, total = sum(scores.found.values()), sum(scores.total.values())
    lines.append(
        f"| **mean** | **{scores.mean_iou():.3f}** | {found / max(total, 1):.3f} | {total} |"
    )
    lines.append("")
    lines.append(
        f"Matched instances: {scores.matched}; their suggestions have {scores.vertices_predicted}"
        f" vertices (truth: {scores.vertices_true}); vertices to move or add (> 0.5° off): "
        f"{scores.vertices_to_move} ({scores.vertices_to_move / max(scores.matched, 1):.1f} per"
        " instance)."
    )
    return "\n".join(lines)


def _django() -> None:
    """The job's modules import the models: configure Django first."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label360.settings")
    import django

    django.setup()


def real_panoramas(width: int, count: int = 5):
    """(name, uint8 RGB at ``width``) of every Poly Haven panorama of data/polyhaven/."""
    import cv2

    _django()
    from annotations.imaging import tonemap_to_uint8

    folder = Path(__file__).resolve().parents[1] / "data" / "polyhaven"
    for path in sorted(folder.glob("*.hdr"))[:count]:
        hdr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]
        rgb = tonemap_to_uint8(np.ascontiguousarray(hdr))
        if rgb.shape[1] != width:
            rgb = cv2.resize(rgb, (width, width // 2), interpolation=cv2.INTER_CUBIC)
        yield path.stem.removesuffix("_1k"), np.ascontiguousarray(rgb)


def real_speed(module, config: TrainConfig, widths: list[int], what: str, count: int = 5) -> str:
    """The prelabel job's time per real panorama (views, merge), per width."""
    import cv2

    _django()
    from inference.prelabel.calibration import fit
    from inference.prelabel.jobs import (
        DEFAULT_MIN_CLASS_PRECISION,
        DEFAULT_TIME_BUDGET_S,
        MAX_TRAIN_WIDTH,
    )
    from inference.prelabel.versions import evaluate

    predictor = SemanticPredictor(module, NAMES, config.predict_view_size, flip=True)
    # the job's calibration, fitted as the training job does: on held-out synthetic streets
    val = [(r.rgb, truth_of(r)) for r in (render("street", s, 1024) for s in (997, 998, 999))]
    calibration = fit(evaluate(predictor, val).outcomes)
    rows, per_width = [], {w: [] for w in widths}
    load0 = os.getloadavg()[0]
    for width in widths:
        for name, rgb in real_panoramas(width, count):
            marks: dict[str, float] = {}
            report: dict = {}

            def progress(fraction: float, marks=marks) -> None:
                if fraction >= 0.5 and "views" not in marks:
                    marks["views"] = time.perf_counter()
                    marks["views_cpu"] = time.process_time()

            w0, c0 = time.perf_counter(), time.process_time()
            if rgb.shape[1] > MAX_TRAIN_WIDTH:  # as the job's panorama_rgb
                rgb = cv2.resize(
                    rgb, (MAX_TRAIN_WIDTH, MAX_TRAIN_WIDTH // 2), interpolation=cv2.INTER_AREA
                )
            found = prelabel_semantic(
                rgb,
                predictor,
                progress=progress,
                deadline=time.monotonic() + DEFAULT_TIME_BUDGET_S,
                report=report,
            )
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            kept = [
                s for s in found if calibration.allows(s.class_name, DEFAULT_MIN_CLASS_PRECISION)
            ]
            views = marks.get("views", w0 + wall) - w0
            views_cpu = marks.get("views_cpu", c0 + cpu) - c0
            per_width[width].append((wall, cpu))
            rows.append(
                f"| {name} | {width} | {wall:.2f} | {cpu:.2f} | {views:.2f} / {views_cpu:.2f} |"
                f" {wall - views:.2f} / {cpu - views_cpu:.2f}"
                f" | {report.get('regions', 0)} | {len(found)} | {len(kept)} |"
                f" {'yes' if report.get('truncated') else 'no'} |"
            )
            print(rows[-1], flush=True)
    load1 = os.getloadavg()[0]
    goals = {1024: 3.0, 4096: 15.0}
    lines = [
        "## Pre-labelling speed on real panoramas (the prelabel job's path)",
        "",
        f"Model: {what}. Views {config.predict_view_size}² px with test-time flip, fused on a"
        f" grid of min(width, {MAX_TRAIN_WIDTH}) px, outlines traced at ×4, time budget"
        f" {DEFAULT_TIME_BUDGET_S:.0f} s per panorama. Load average {load0:.1f} → {load1:.1f}"
        f" on {os.cpu_count()} cores while measuring (shared machine): wall times are"
        " pessimistic, CPU seconds count every thread of the process. Calibration fitted on"
        f" synthetic streets 997–999 ({calibration.samples} suggestions): precision per class "
        + ", ".join(f"{k} {v['precision']:.2f}" for k, v in sorted(calibration.classes.items()))
        + f"; classes under {DEFAULT_MIN_CLASS_PRECISION} are not suggested (the job's default).",
        "",
        "| panorama | width | wall s | CPU s | views s (wall / CPU) | merge s (wall / CPU) |"
        " regions | suggestions | kept by the precision gate |"
        " truncated |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    for width, times in per_width.items():
        goal = goals.get(width)
        walls, cpus = [t[0] for t in times], [t[1] for t in times]
        lines.append(
            f"Width {width}: wall median {np.median(walls):.2f} s, max {max(walls):.2f} s; CPU"
            f" median {np.median(cpus):.2f} s, max {max(cpus):.2f} s"
            + (f" (goal ≤ {goal:.0f} s)." if goal else ".")
        )
    return "\n".join(lines)


def main() -> None:
    d = TrainConfig()  # the defaults are the job's defaults (the best setting measured)
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=20)
    ap.add_argument("--test", type=int, default=10)
    ap.add_argument("--iterations", type=int, default=d.iterations)
    ap.add_argument("--train-width", type=int, default=1024)
    ap.add_argument("--test-width", type=int, default=1024)
    ap.add_argument("--view-size", type=int, default=d.view_size)
    ap.add_argument("--predict-size", type=int, default=d.predict_view_size)
    ap.add_argument("--hfov", type=float, nargs=2, default=(d.hfov_min, d.hfov_max))
    ap.add_argument("--net-width", type=int, default=d.width)
    ap.add_argument("--class-weight-power", type=float, default=d.class_weight_power)
    ap.add_argument("--focus-fraction", type=float, default=d.focus_fraction)
    ap.add_argument("--pole-fraction", type=float, default=d.pole_fraction)
    ap.add_argument(
        "--focus-hfov", type=float, nargs=2, default=(d.focus_hfov_min, d.focus_hfov_max)
    )
    ap.add_argument("--dice-weight", type=float, default=d.dice_weight)
    ap.add_argument("--views-per-panorama", type=int, default=d.views_per_panorama)
    ap.add_argument("--batch-size", type=int, default=d.batch_size)
    ap.add_argument("--lr", type=float, default=d.lr)
    ap.add_argument("--threads", type=int, default=d.threads)
    ap.add_argument("--colour-jitter", type=float, default=d.colour_jitter)
    ap.add_argument("--logit-adjust", type=float, default=d.logit_adjust)
    ap.add_argument("--nearest", action="store_true", help="nearest (not bilinear) up-sampling")
    ap.add_argument(
        "--no-tta-flip", dest="tta_flip", action="store_false", help="no test-time flip"
    )
    ap.add_argument("--tta-flip", dest="tta_flip", action="store_true", help="(the default)")
    ap.add_argument(
        "--trace-scale",
        type=int,
        default=4,
        help="outline tracing grid (label360.sphere.mask_to_geometry); 1 = the old tracing",
    )
    ap.add_argument("--real", action="store_true", help="time the job on real panoramas only")
    ap.add_argument("--real-widths", type=int, nargs="+", default=[1024, 4096])
    ap.add_argument("--real-panoramas", type=int, default=5, help="how many of data/polyhaven")
    ap.add_argument("--save", help="write the trained TorchScript here")
    ap.add_argument("--load", help="skip training: evaluate this TorchScript (from --save)")
    ap.add_argument("--out", default="bench/prelabel_results.md")
    args = ap.parse_args()
    t0 = time.perf_counter()
    train = []
    for seed in range(0 if args.load else args.train):
        r = render("street", seed, args.train_width)
        items = [(NAMES.index(c), g) for c, g in truth_of(r)]
        train.append(LabelledPanorama(r.rgb, items))
    val_r = render("street", 999, args.train_width)
    t_render = time.perf_counter() - t0
    config = TrainConfig(
        iterations=args.iterations,
        validations=2,
        view_size=args.view_size,
        predict_view_size=args.predict_size,
        hfov_min=args.hfov[0],
        hfov_max=args.hfov[1],
        width=args.net_width,
        class_weight_power=args.class_weight_power,
        focus_fraction=args.focus_fraction,
        pole_fraction=args.pole_fraction,
        focus_hfov_min=args.focus_hfov[0],
        focus_hfov_max=args.focus_hfov[1],
        dice_weight=args.dice_weight,
        views_per_panorama=args.views_per_panorama,
        batch_size=args.batch_size,
        lr=args.lr,
        threads=args.threads,
        colour_jitter=args.colour_jitter,
        logit_adjust=args.logit_adjust,
        bilinear=not args.nearest,
    )
    if args.load:
        with open(args.load, "rb") as handle:
            module = load_torchscript(handle.read())
        result = TrainResult(module, NAMES, b"", history=[{"loaded": args.load}])
    else:
        result = train_project_model(
            train,
            NAMES,
            [(val_r.rgb, truth_of(val_r))],
            config,
            report=lambda f, m: print(m, flush=True),
        )
        if args.save:
            with open(args.save, "wb") as handle:
                handle.write(result.torchscript)
    if args.real:
        what = (
            f"loaded from {args.load}"
            if args.load
            else f"trained here ({args.train} streets, {config.iterations} iterations)"
        )
        text = real_speed(result.model, config, args.real_widths, what, args.real_panoramas)
        text += "\n\nCommand: `.venv/bin/python bench/prelabel.py " + " ".join(sys.argv[1:]) + "`"
        print(text)
        out = args.out if args.out != "bench/prelabel_results.md" else "bench/prelabel_speed.md"
        with open(out, "w") as handle:
            handle.write(text + "\n")
        return
    predictor = SemanticPredictor(result.model, NAMES, config.predict_view_size, args.tta_flip)
    model_scores, oracle_scores = Scores(), Scores()
    t_pred = []
    for seed in range(1000, 1000 + args.test):
        r = render("street", seed, args.test_width)
        truth = truth_of(r)
        t = time.perf_counter()
        sugg = prelabel_semantic(
            r.rgb, predictor, grid_width=args.test_width, trace_scale=args.trace_scale
        )
        t_pred.append(time.perf_counter() - t)
        score_panorama(
            model_scores, truth, [(s.class_name, s.geometry) for s in sugg], args.test_width
        )
        lab = np.zeros(r.class_ids.shape, int)
        for k, name in enumerate(NAMES[1:], start=1):
            lab[r.class_ids == CLASS_IDS[name]] = k
        oracle = semantic_suggestions(
            np.eye(len(NAMES), dtype=np.float32)[lab],
            np.ones(lab.shape),
            NAMES,
            trace_scale=args.trace_scale,
        )
        score_panorama(
            oracle_scores, truth, [(s.class_name, s.geometry) for s in oracle], args.test_width
        )
        print(f"test {seed}: mIoU so far {model_scores.mean_iou():.3f}", flush=True)
    report = [
        "## Pre-labelling on synthetic streets",
        "",
        f"Train {args.train} panoramas ({args.train_width} px wide, {config.views_per_panorama}"
        f" views each, {config.view_size}² px, FOV {config.hfov_min:.0f}–{config.hfov_max:.0f}°),"
        f" {config.iterations} iterations, batch {config.batch_size}, class-weight power"
        f" {config.class_weight_power}, Dice weight {config.dice_weight}, focus views"
        f" {config.focus_fraction:.0%} (FOV {config.focus_hfov_min:.0f}–{config.focus_hfov_max:.0f}°),"
        f" nadir/zenith views {config.pole_fraction:.0%}, width {config.width}"
        f" ({'bilinear' if config.bilinear else 'nearest'} up-sampling), colour jitter"
        f" {config.colour_jitter}, logit adjustment τ {config.logit_adjust}, outlines traced"
        f" at ×{args.trace_scale},"
        f" test-time flip {'on' if args.tta_flip else 'off'}: {result.seconds:.0f} s training (render {t_render:.0f} s);"
        f" test {args.test} unseen panoramas ({args.test_width} px), pre-label"
        f" {np.mean(t_pred):.1f} s each (22 views of {config.predict_view_size}² px, fused on a"
        f" {args.test_width} grid).",
        "",
        table("Project model", model_scores),
        "",
        table("Oracle (perfect per-pixel classes through the same merge)", oracle_scores),
        "",
        "Training history: " + json.dumps(result.history[-6:]),
        "",
        "Command: `.venv/bin/python bench/prelabel.py " + " ".join(sys.argv[1:]) + "`",
    ]
    text = "\n".join(report)
    print(text)
    print("command: " + " ".join(sys.argv[1:]))
    with open(args.out, "w") as handle:
        handle.write(text + "\n")


if __name__ == "__main__":
    main()
