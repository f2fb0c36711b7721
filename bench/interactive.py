"""Interactive box tool latency and quality (issue 7): GrabCut on ~512² regions.

For synthetic objects (unoccluded car/tree/person/pole and buildings), a 1024×768 view is
centred on the object with a FOV that makes its box about 512 px wide; the time is
view render + GrabCut + polygon (what POST /api/prelabel/interactive/ does after the
panorama is cached). GrabCut runs on the region scaled to ≤ ``--max-side`` px (default 256),
the mask is upsampled and its edge band re-decided at full resolution by the colour models. Reports median / p90 ms and the spherical IoU with the true object.

    .venv/bin/python bench/interactive.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

from inference.prelabel.grabcut import segment_box
from inference.prelabel.predict import view_image
from label360.sphere import View, centroid, geometry_to_view, iou
from label360.synthetic import render


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--max-side", type=int, default=256)
    ap.add_argument("--no-refine", action="store_true")
    ap.add_argument("--out", default="bench/interactive_results.md")
    ap.add_argument(
        "--baseline",
        type=int,
        default=512,
        help="also time GrabCut on ≤ this many px without refinement, interleaved object by"
        " object (same load for both); 0 to skip",
    )
    args = ap.parse_args()
    rows = []
    baseline = []
    for seed in range(args.seeds):
        r = render("street", 50 + seed, args.width)
        for a in r.annotations:
            if not a["geometry"] or a["occluded"] or a["area_sr"] < 3e-4:
                continue
            lon, lat = centroid(a["geometry"])
            extent = math.degrees(2 * math.sqrt(a["area_sr"]))
            hfov = min(120.0, max(10.0, extent * 2.0))
            view = View(lon, lat, 0.0, hfov, 1024, 768)
            pts = np.concatenate([q for p in geometry_to_view(a["geometry"], view) for q in p])
            box = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
            t0 = time.perf_counter()
            image = view_image(r.rgb, view)
            t1 = time.perf_counter()
            result = segment_box(
                image, view, box, max_side=args.max_side, refine=not args.no_refine
            )
            ms = 1000 * (time.perf_counter() - t0)
            side = max(box[2] - box[0], box[3] - box[1])
            value = iou(result.geometry, a["geometry"]) if result.geometry else 0.0
            rows.append((a["class"], side, ms, value, 1000 * (time.perf_counter() - t1)))
            if args.baseline:
                t1 = time.perf_counter()
                ref = segment_box(image, view, box, max_side=args.baseline, refine=False)
                ref_ms = 1000 * (time.perf_counter() - t1)
                baseline.append((ref_ms, iou(ref.geometry, a["geometry"]) if ref.geometry else 0.0))
    ms = np.array([r[2] for r in rows])
    ious = np.array([r[3] for r in rows])
    seg_ms = np.array([r[4] for r in rows])
    lines = [
        "## Interactive GrabCut (view render + GrabCut + polygon)",
        "",
        f"{len(rows)} objects, box side median {np.median([r[1] for r in rows]):.0f} px "
        f"(GrabCut on ≤ {args.max_side} px, edge refinement {'off' if args.no_refine else 'on'}):"
        f" median {np.median(ms):.0f} ms, p90 {np.percentile(ms, 90):.0f} ms (GrabCut + polygon"
        f" alone: median {np.median(seg_ms):.0f} ms); spherical IoU mean {ious.mean():.3f},"
        f" median {np.median(ious):.3f}. Load average while measuring:"
        f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        "",
        "| class | n | mean IoU | median ms |",
        "|---|---|---|---|",
    ]
    for name in sorted({r[0] for r in rows}):
        sel = [r for r in rows if r[0] == name]
        lines.append(
            f"| {name} | {len(sel)} | {np.mean([r[3] for r in sel]):.3f} |"
            f" {np.median([r[2] for r in sel]):.0f} |"
        )
    if baseline:
        ref = np.array(baseline)
        lines += [
            "",
            f"Baseline interleaved with it (GrabCut on ≤ {args.baseline} px, no refinement, same"
            f" objects and load): GrabCut + polygon median {np.median(ref[:, 0]):.0f} ms, p90"
            f" {np.percentile(ref[:, 0], 90):.0f} ms (this config: {np.median(seg_ms):.0f} /"
            f" {np.percentile(seg_ms, 90):.0f} ms); IoU mean {ref[:, 1].mean():.3f}, median"
            f" {np.median(ref[:, 1]):.3f}.",
        ]
    text = "\n".join(lines)
    print(text)
    with open(args.out, "w") as handle:
        handle.write(text + "\n")


if __name__ == "__main__":
    main()
