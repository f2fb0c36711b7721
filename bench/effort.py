"""Annotation effort with a simulated annotator: clicks to reach spherical IoU ≥ 0.9.

Compares drawing great-circle polygons in views (Label360) with flat polygons on the
equirectangular image (LabelMe style) and face-by-face polygons on a plain 90° cubemap, on
synthetic streets and rooms with exact truth (``bench/effort_scenes.py``); the annotator and
the IoU are described in ``bench/effort_sim.py``, the shape tools in ``bench/effort_shapes.py``,
and both in docs/effort.md.

    .venv/bin/python bench/effort.py            # full run (6 scenes, ~200 instances)
    .venv/bin/python bench/effort.py --quick    # one room, 8 instances
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from effort_scenes import Instance, scene_instances  # noqa: E402
from effort_shapes import SHAPE_TOOLS, rectangle_then_edit, shape_tools  # noqa: E402
from effort_sim import CAP_CLICKS, MODES, TARGET_IOU, HoleError, pieces_for, simulate  # noqa: E402

from label360.sphere import rasterize  # noqa: E402

#: (kind, seed, camera yaw): yaws differ so that other objects straddle the seam
SCENES = [
    ("street", 1, 0.0),
    ("street", 2, 150.0),
    ("street", 3, 250.0),
    ("room", 1, 0.0),
    ("room", 2, 200.0),
    ("room", 3, 100.0),
]
QUICK = [("room", 1, 0.0)]
BANDS = (("|lat| < 30", 0, 30), ("30–60", 30, 60), ("|lat| ≥ 60", 60, 91))
SIZES = (("small (< 5°)", 0, 5), ("medium (5–20°)", 5, 20), ("large (≥ 20°)", 20, 361))


def size_deg(area_sr: float) -> float:
    """Angular diameter of the cap with the same solid angle."""
    return math.degrees(2 * math.acos(max(-1.0, 1.0 - area_sr / (2 * math.pi))))


def run(
    scenes, width: int, min_px: float, limit: int | None, cap: int
) -> tuple[list[dict], dict[str, int]]:
    px_sr = 2 * math.pi**2 / (width * (width // 2))  # an equator pixel
    rows: list[dict] = []
    skipped = {"small": 0, "hole": 0}
    for kind, seed, yaw in scenes:
        instances: list[Instance] = scene_instances(kind, seed, yaw)
        kept = [i for i in instances if i.area_sr >= min_px * px_sr]
        skipped["small"] += len(instances) - len(kept)
        for inst in kept[:limit]:
            truth = rasterize(inst.parts, width, width // 2)
            row = {
                "name": inst.name,
                "label": inst.label,
                "shape": inst.shape,
                "lat": round(inst.lat, 2),
                "lon": round(inst.lon, 2),
                "size_deg": round(size_deg(inst.area_sr), 2),
                "seam": inst.seam,
                "pole": inst.pole,
            }
            try:
                for mode in MODES:
                    # the drawing space's pieces (outlines, candidates, guidance grids) once
                    pieces = pieces_for(mode, inst.parts, width)
                    r = simulate(inst.parts, mode, width, truth, cap=cap, pieces=pieces)
                    tools = shape_tools(inst.parts, mode, width, truth, pieces=pieces)
                    row[mode] = {
                        "clicks": r.clicks,
                        "reached": r.reached,
                        "iou": round(r.iou, 4),
                        "pieces": r.pieces,
                        "polygons": r.drawn,
                        "tools": {t.tool: round(t.iou, 4) for t in tools},
                    }
                    if mode == "ours":
                        re = rectangle_then_edit(inst.parts, width, truth, cap=cap, pieces=pieces)
                        row[mode]["rectangle_edit"] = (
                            {"clicks": re.clicks, "reached": re.reached, "iou": round(re.iou, 4)}
                            if re is not None
                            else None
                        )
            except HoleError:
                skipped["hole"] += 1
                continue
            rows.append(row)
    return rows, skipped


def with_shape_tools(rows: list[dict], cap: int) -> list[dict]:
    """The same rows when each mode also has its shape tools: an annotator uses the cheapest
    tool that reaches the target, where it needs fewer clicks than the polygon. Ours can also
    refine its upright rectangle into a polygon ("rectangle + edit")."""
    out = []
    for r in rows:
        r2 = dict(r)
        for mode in MODES:
            m = r[mode]
            best = (m["clicks"] if m["reached"] else cap, "polygon")
            for tool, clicks in SHAPE_TOOLS[mode]:
                if m["tools"][tool] >= TARGET_IOU and clicks < best[0]:
                    best = (clicks, tool)
            refined = m.get("rectangle_edit")
            if refined and refined["reached"] and refined["clicks"] < best[0]:
                best = (refined["clicks"], "rectangle + edit")
            reached = m["reached"] or best[1] != "polygon"
            r2[mode] = {**m, "clicks": best[0], "reached": reached, "used": best[1]}
        out.append(r2)
    return out


def goal_ratios(ours_rows: list[dict], labelme_rows: list[dict], cap: int) -> tuple[float, float]:
    """Ours ÷ LabelMe mean clicks overall and near the poles (|lat| ≥ 60), ours read from
    ``ours_rows`` and LabelMe from ``labelme_rows`` (the same instances, possibly scored with
    other tools)."""

    def ratio(keep) -> float:
        a = [r for r in ours_rows if keep(r)]
        b = [r for r in labelme_rows if keep(r)]
        if not a:
            return float("nan")
        return effort(a, "ours", cap)[0] / effort(b, "labelme", cap)[0]

    return ratio(lambda r: True), ratio(lambda r: abs(r["lat"]) >= 60)


def effort(rows: list[dict], mode: str, cap: int) -> tuple[float, float, int]:
    """Mean clicks (a failure counts as the cap), median, failures."""
    c = np.array([r[mode]["clicks"] if r[mode]["reached"] else cap for r in rows], float)
    fails = sum(not r[mode]["reached"] for r in rows)
    return float(c.mean()), float(np.median(c)), fails


def paired_ratio(rows: list[dict], a: str, b: str) -> tuple[float, int]:
    """Ratio of mean clicks over the instances both modes reached."""
    both = [r for r in rows if r[a]["reached"] and r[b]["reached"]]
    if not both:
        return float("nan"), 0
    ca = sum(r[a]["clicks"] for r in both)
    cb = sum(r[b]["clicks"] for r in both)
    return ca / cb, len(both)


def table(groups: list[tuple[str, list[dict]]], cap: int) -> str:
    head = (
        "| group | n | ours mean / median / failed | LabelMe mean / median / failed"
        " | cubemap mean / median / failed | ours ÷ LabelMe | ours ÷ cubemap |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for name, rows in groups:
        if not rows:
            lines.append(f"| {name} | 0 | – | – | – | – | – |")
            continue
        cells = []
        means = {}
        for mode in MODES:
            m, med, f = effort(rows, mode, cap)
            means[mode] = m
            cells.append(f"{m:.1f} / {med:.0f} / {f}")
        r1 = means["ours"] / means["labelme"]
        r2 = means["ours"] / means["cubemap"]
        p1, n1 = paired_ratio(rows, "ours", "labelme")
        p2, n2 = paired_ratio(rows, "ours", "cubemap")
        lines.append(
            f"| {name} | {len(rows)} | {' | '.join(cells)} | {r1:.2f} ({p1:.2f} on {n1})"
            f" | {r2:.2f} ({p2:.2f} on {n2}) |"
        )
    return head + "\n".join(lines)


def report(rows: list[dict], cap: int) -> str:
    def band(r, lo, hi):
        return lo <= abs(r["lat"]) < hi

    def size(r, lo, hi):
        return lo <= r["size_deg"] < hi

    groups = [("all", rows)]
    groups += [(n, [r for r in rows if band(r, lo, hi)]) for n, lo, hi in BANDS]
    groups += [(n, [r for r in rows if size(r, lo, hi)]) for n, lo, hi in SIZES]
    groups += [
        ("box (straight 3-D edges)", [r for r in rows if r["shape"] == "box"]),
        ("round (discs)", [r for r in rows if r["shape"] == "round"]),
        ("across the seam / a pole", [r for r in rows if r["seam"]]),
    ]
    return table(groups, cap)


def per_panorama(rows: list[dict], cap: int) -> str:
    """Clicks per panorama (all its instances; a failure counts as the cap) — the unit of the
    study's 83 vs 134 minutes."""
    out = "| panorama | instances | ours | LabelMe | cubemap | ours ÷ LabelMe | ours ÷ cubemap |\n"
    out += "|---|---|---|---|---|---|---|\n"
    scenes = sorted({r["name"].split("/")[0] for r in rows}, key=lambda n: (n[0], n))
    for scene in scenes + ["all"]:
        mine = [r for r in rows if scene == "all" or r["name"].split("/")[0] == scene]
        t = {m: sum(r[m]["clicks"] if r[m]["reached"] else cap for r in mine) for m in MODES}
        out += (
            f"| {scene} | {len(mine)} | {t['ours']} | {t['labelme']} | {t['cubemap']}"
            f" | {t['ours'] / t['labelme']:.2f} | {t['ours'] / t['cubemap']:.2f} |\n"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one room, 8 instances")
    ap.add_argument("--width", type=int, default=2048, help="equirect width of the IoU grid")
    ap.add_argument("--min-px", type=float, default=100.0, help="smallest instance (px)")
    ap.add_argument("--cap", type=int, default=CAP_CLICKS)
    ap.add_argument("--json", default=None, help="per-instance results (default bench/out/)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    scenes = QUICK if args.quick else SCENES
    rows, skipped = run(scenes, args.width, args.min_px, 8 if args.quick else None, args.cap)
    elapsed = time.perf_counter() - t0
    print(
        f"{len(rows)} instances from {len(scenes)} scenes at {args.width}×{args.width // 2}"
        f" (left out: {skipped['small']} under {args.min_px:g} px, {skipped['hole']} with a"
        f" hole); target IoU {TARGET_IOU}, cap {args.cap} clicks; {elapsed:.0f} s\n"
    )
    print("Clicks per instance (mean counts a failure as the cap; ratios: of the means, and in")
    print("brackets over the instances both modes reached)\n")
    print(report(rows, args.cap))
    print("\nClicks per panorama\n")
    print(per_panorama(rows, args.cap))
    overall, polar_ratio = goal_ratios(rows, rows, args.cap)
    print(
        f"\nproduct goal (polygons, as the goal defines the modes): ours ≤ 0.6× LabelMe overall →"
        f" {overall:.2f} ({'met' if overall <= 0.6 else 'NOT met'}); ≤ 0.3× near the poles"
        f" (|lat| ≥ 60) → {polar_ratio:.2f} ({'met' if polar_ratio <= 0.3 else 'NOT met'})"
    )
    tooled = with_shape_tools(rows, args.cap)
    print(
        "\nWith each mode's shape tools (ours: ellipse, 3 clicks, and upright rectangle, 2, which"
        " the Edit tool refines into a polygon, a click per inserted vertex; LabelMe: circle and"
        " rectangle, 2 clicks each; cubemap: ellipse and rectangle in the face), the cheapest"
        " that reaches the target used where it beats the polygon:"
    )
    for m in MODES:
        parts = []
        for tool, _ in SHAPE_TOOLS[m]:
            reach = sum(r[m]["tools"][tool] >= TARGET_IOU for r in rows)
            used = sum(r[m]["used"] == tool for r in tooled)
            parts.append(f"{tool} reaches {TARGET_IOU} on {reach}, used on {used}")
        if m == "ours":
            used = sum(r[m]["used"] == "rectangle + edit" for r in tooled)
            parts.append(f"rectangle + edit used on {used}")
        print(f"  {m}: " + "; ".join(parts))
    print()
    print(report(tooled, args.cap))
    t_overall, t_polar_ratio = goal_ratios(tooled, tooled, args.cap)
    print("\nClicks per panorama, with the shape tools\n")
    print(per_panorama(tooled, args.cap))
    literal, literal_polar = goal_ratios(tooled, rows, args.cap)
    print(
        f"with the shape tools in every mode: ours ÷ LabelMe overall {t_overall:.2f}"
        f" ({'met' if t_overall <= 0.6 else 'NOT met'}), near the poles {t_polar_ratio:.2f}"
        f" ({'met' if t_polar_ratio <= 0.3 else 'NOT met'}); ours with its tools against"
        f" LabelMe's polygons alone (not a fair pairing, for reference): {literal:.2f} /"
        f" {literal_polar:.2f}"
    )
    print(f"study headline for comparison: 83 / 134 min per panorama = {83 / 134:.2f}")
    out = Path(args.json or f"bench/out/effort{'-quick' if args.quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"width": args.width, "cap": args.cap, "rows": rows}, indent=1))
    print(f"per-instance results: {out}")


if __name__ == "__main__":
    main()
