"""Benchmark: depth fusion end to end on a synthetic 4096×2048 room with the oracle estimator.

Prints the time of every stage, AbsRel and the seam ratio at full resolution, and RATIOS
against NAMED BASELINES measured in the same run on the same data:

* ``previous project+accumulate``: every view resampled over the whole sphere through
  ``project_prediction`` (bilinear + nearest remaps of 4 channels) and accumulated in
  float64 — the code before the footprint bands;
* ``previous full-res refine``: assembled scipy CSR matrix (float64) + Jacobi-CG, 40
  iterations, from the same upsampled coarse start as the new matrix-free refine;
* ``unpreconditioned CG``: matrix-free CG without preconditioner on the full-resolution
  system from the feathered mean, capped at the iterations that fit in ~3× the new solve
  time (coarse + refine), with the residual it reaches (vs the new path's residual);
* wall normals: the previous central-difference derivation vs the plane fit, on the fused
  and on the true depth.

    .venv/bin/python bench/depth.py [--width 4096]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from inference.depth import fuse as fuse_mod
from inference.depth import poisson
from inference.depth.layouts import make_views
from inference.depth.metrics import abs_rel, seam_ratio, smooth_mask
from inference.depth.oracle import OracleEstimator
from inference.depth.pipeline import DepthOptions, estimate_depth
from inference.depth.project import project_prediction
from label360.sphere.projection import equirect_directions
from label360.synthetic import render


def legacy_accumulate(views, preds, alignment, width, height) -> fuse_mod.Accumulated:
    """The previous accumulate: whole-sphere projection per view, float64 sums."""
    gx_n = np.zeros((height, width))
    gx_d = np.zeros((height, width))
    gy_n = np.zeros((height - 1, width))
    gy_d = np.zeros((height - 1, width))
    s_w = np.zeros((height, width))
    s_wl = np.zeros((height, width))
    best_w = np.zeros((height, width), np.float32)
    nearest = np.full((height, width), np.nan, np.float32)
    for i, (view, pred) in enumerate(zip(views, preds, strict=True)):
        proj = project_prediction(view, pred, width, height)
        ell = alignment.log_distance(i, proj)
        ok = np.isfinite(ell)
        f = np.where(ok, proj.weight, 0).astype(np.float32)
        ell0 = np.where(ok, ell, 0).astype(np.float32)
        s_w += f
        s_wl += f * ell0
        take = f > best_w
        best_w = np.where(take, f, best_w)
        nearest = np.where(take, ell, nearest)
        fe = np.minimum(f, np.roll(f, -1, axis=1))
        gx_n += fe * (np.roll(ell0, -1, axis=1) - ell0)
        gx_d += fe
        fs = np.minimum(f[:-1], f[1:])
        gy_n += fs * (ell0[1:] - ell0[:-1])
        gy_d += fs
    with np.errstate(invalid="ignore", divide="ignore"):
        gx = np.where(gx_d > 0, gx_n / gx_d, 0.0)
        gy = np.where(gy_d > 0, gy_n / gy_d, 0.0)
        mean = np.where(s_w > 0, s_wl / s_w, np.nan)
    return fuse_mod.Accumulated(gx, gx_d, gy, gy_d, mean, s_w, nearest)


def cube_border(width: int) -> np.ndarray:
    views = make_views("cube", 64)
    dirs = equirect_directions(width, width // 2)
    axes = np.array([v.rotation()[:, 2] for v in views])
    owner = np.argmax(dirs @ axes.T, axis=1).reshape(width // 2, width)
    border = owner != np.roll(owner, -1, axis=1)
    border[:-1] |= owner[:-1] != owner[1:]
    return border


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=4096)
    parser.add_argument("--distortion", type=float, default=0.05)
    args = parser.parse_args()
    w, h = args.width, args.width // 2
    r, secs = timed(lambda: render("room", 3, w))
    print(f"render {w}x{h}: {secs:.1f} s (not part of the pipeline)")
    est = OracleEstimator(r.depth, seed=1, distortion=args.distortion)
    res, total = timed(lambda: estimate_depth(r.rgb, est, DepthOptions()))
    # warm footprint maps (a worker re-using its cache): best of 3 per stage, since the
    # shared machine's load changes from second to second
    warm, total_warm = None, float("inf")
    for _ in range(3):
        est = OracleEstimator(r.depth, seed=1, distortion=args.distortion)
        run, secs = timed(lambda est=est: estimate_depth(r.rgb, est, DepthOptions()))
        if warm is None:
            warm = run
        else:
            warm.timings = {k: min(v, run.timings[k]) for k, v in warm.timings.items()}
        total_warm = min(total_warm, secs)
    print(f"\ndistortion {args.distortion}, cube layout, {res.info['views']} views of "
          f"{res.info['view_size']} px")  # fmt: skip
    print("| stage | seconds (cold maps) | seconds (warm maps, best of 3) |\n|---|---|---|")
    for key, value in res.timings.items():
        print(f"| {key.strip()} | {value:.2f} | {warm.timings.get(key, float('nan')):.2f} |")
    print(f"| total | {total:.2f} | {total_warm:.2f} |")
    mask = smooth_mask(r.depth)
    on, off = seam_ratio(res.distance, r.depth, cube_border(w), mask)
    print(f"AbsRel (smooth pixels) = {abs_rel(res.distance, r.depth, mask):.4f}; "
          f"seam on/off view borders = {on:.5f} / {off:.5f} (ratio {on / off:.2f})")  # fmt: skip
    for s in res.info["solves"]:
        print(f"solve: {s['method']}, {s['iterations']} it, residual {s['residual']:.2e}")

    # --- named baselines on the same data ------------------------------------------------
    from label360.sphere.projection import equirect_to_view

    views = make_views("cube", res.info["view_size"])
    est = OracleEstimator(r.depth, seed=1, distortion=args.distortion)
    preds = [
        est.predict(equirect_to_view(r.rgb, v.yaw, v.pitch, v.roll, v.hfov, v.width, v.height), v)
        for v in views
    ]
    alignment = res.alignment
    fused = fuse_mod.fuse(views, preds, alignment, w, h)  # for the refine's start
    t_coarse = sum(v for k, v in warm.timings.items() if "coarse" in k)
    new_acc = warm.timings["  fuse: project+accumulate"]
    t_new = sum(v for k, v in warm.timings.items() if "full" in k)
    new_res = warm.info["solves"][-1]["residual"]
    old_acc = t_asm = t_jac = float("inf")
    for _ in range(2):  # best of 2, like the new path's best of 3
        acc, secs = timed(lambda: legacy_accumulate(views, preds, alignment, w, h))
        old_acc = min(old_acc, secs)
        (a, b), secs = timed(lambda acc=acc: fuse_mod._system(acc, 90.0))
        t_asm = min(t_asm, secs)
        x_old, info = poisson.solve(
            a, b, x0=fused.start.ravel(), preconditioner="jacobi", maxiter=40
        )
        t_jac = min(t_jac, info.seconds)
        del a, b
    t_old = t_asm + t_jac
    old_distance = np.exp(x_old.reshape(h, w)).astype(np.float32)
    print("\n| baseline (same run, same data) | baseline s | new s | ratio |\n|---|---|---|---|")
    print(f"| previous project+accumulate (whole sphere, float64) vs footprint bands (warm) "
          f"| {old_acc:.2f} | {new_acc:.2f} | {old_acc / new_acc:.1f}x |")  # fmt: skip
    print(f"| previous full-res refine: CSR assemble {t_asm:.1f} s + Jacobi-CG 40 it "
          f"(residual {info.residual:.1e}) vs matrix-free system + Jacobi-CG 10 it "
          f"(residual {new_res:.1e}), same coarse start | {t_old:.2f} | {t_new:.2f} "
          f"| {t_old / t_new:.1f}x |")  # fmt: skip
    x0 = fuse_mod._fill(acc.mean)
    op, bg = fuse_mod._grid_system(acc, 90.0, x0)
    t_solve = t_coarse + t_new
    cap = 60
    _, info = poisson.grid_pcg(op, bg, x0, maxiter=cap, preconditioner="none")
    print(f"| unpreconditioned CG (matrix-free, full res, from the feathered mean), capped at "
          f"{cap} it: residual {info.residual:.1e} vs new {new_res:.1e} | {info.seconds:.2f} "
          f"| {t_solve:.2f} | {info.seconds / t_solve:.1f}x |")  # fmt: skip
    fusion_old = old_acc + t_coarse + t_old
    print(f"| fusion total: previous (accumulate + coarse + CSR/Jacobi refine) vs new fuse "
          f"(warm) | {fusion_old:.2f} | {warm.timings['fuse']:.2f} "
          f"| {fusion_old / warm.timings['fuse']:.1f}x |")  # fmt: skip
    diff = np.abs(np.log(old_distance) - np.log(res.distance))
    print(f"\nprevious path: AbsRel {abs_rel(old_distance, r.depth, mask):.4f} (new "
          f"{abs_rel(res.distance, r.depth, mask):.4f}); |new - previous| log-distance: "
          f"median {np.median(diff):.1e}, p99 {np.percentile(diff, 99):.1e}")  # fmt: skip
    border = cube_border(w)
    acc_new = fuse_mod.accumulate(views, preds, alignment, w, h, nearest=False)
    op_n, b_n = fuse_mod._grid_system(acc_new, 90.0, fuse_mod._fill(acc_new.mean))
    del acc_new
    print("\n| refine iterations (from the coarse start) | residual | seconds | AbsRel "
          "| seam on/off | p99 abs(log d - previous path) |\n|---|---|---|---|---|---|")  # fmt: skip
    for its in (0, 5, 10, 20):
        x, info = poisson.grid_pcg(op_n, b_n, fused.start, maxiter=its)
        d = np.exp(x).astype(np.float32)
        on, off = seam_ratio(d, r.depth, border, mask)
        p99 = np.percentile(np.abs(x - np.log(old_distance)), 99)
        print(f"| {its} | {info.residual:.1e} | {info.seconds:.2f} | "
              f"{abs_rel(d, r.depth, mask):.4f} | {on / off:.2f} | {p99:.1e} |")  # fmt: skip
    normals_report(r, res.distance)


def central_difference_normals(distance: np.ndarray) -> np.ndarray:
    """The previous derivation (baseline): cross product of central differences of P."""
    from inference.depth.outputs import points

    p = points(distance).astype(np.float64)
    d_lon = np.roll(p, -1, axis=1) - np.roll(p, 1, axis=1)
    d_lat = np.empty_like(p)
    d_lat[1:-1] = p[2:] - p[:-2]
    d_lat[0], d_lat[-1] = p[1] - p[0], p[-1] - p[-2]
    n = np.cross(d_lon, d_lat)
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-30)
    return np.where(np.sum(n * p, axis=-1, keepdims=True) > 0, -n, n).astype(np.float32)


def normals_report(r, distance: np.ndarray) -> None:
    from inference.depth.outputs import normals_from_distance
    from label360.synthetic import CLASS_IDS

    truth = r.normals @ r.camera.rotation()
    wall = (r.class_ids == CLASS_IDS["wall"]) & smooth_mask(r.depth, margin=3)
    lat = 90 - (np.arange(r.height) + 0.5) * 180 / r.height
    wall &= (np.abs(lat) < 60)[:, None]
    true_d = np.where(np.isfinite(r.depth), r.depth, 1e3).astype(np.float32)
    print(
        "\n| wall normals vs truth (deg) | p50 | p90 | p95 | p99 | seconds |\n|---|---|---|---|---|---|"
    )
    for name, fn in (("plane fit (new)", None), ("central differences (previous)", 1)):
        for what, d in (("fused", distance), ("true depth", true_d)):
            f = central_difference_normals if fn else normals_from_distance
            n, secs = timed(lambda f=f, d=d: f(d))
            cos = np.clip(np.sum(n[wall] * truth[wall], -1), -1, 1)
            p = np.percentile(np.degrees(np.arccos(cos)), [50, 90, 95, 99])
            print(f"| {name}, {what} | " + " | ".join(f"{v:.2f}" for v in p) + f" | {secs:.2f} |")


if __name__ == "__main__":
    main()
