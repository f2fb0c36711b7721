"""Benchmark: depth fusion end to end on a synthetic 4096×2048 room with the oracle estimator.

Prints the time of every stage, AbsRel and the seam ratio at full resolution, and RATIOS
against NAMED BASELINES measured in the same run on the same data:

* ``previous project+accumulate``: every view resampled over the whole sphere through
  ``project_prediction`` (bilinear + nearest remaps of 4 channels) and accumulated in
  float64 — the code before the footprint bands;
* ``previous full-res solve``: assembled scipy CSR matrix (float64) + Jacobi-CG from the
  same start, 40 iterations — the previous refine;
* ``unpreconditioned CG``: matrix-free CG without preconditioner from the feathered mean,
  capped at the iterations that fit in 3× the new fusion's solve time, with the residual
  it reaches (vs the new path's residual).

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
    # a second run with warm footprint maps (a worker re-using its cache)
    est = OracleEstimator(r.depth, seed=1, distortion=args.distortion)
    warm, total_warm = timed(lambda: estimate_depth(r.rgb, est, DepthOptions()))
    print(f"\ndistortion {args.distortion}, cube layout, {res.info['views']} views of "
          f"{res.info['view_size']} px")  # fmt: skip
    print("| stage | seconds (cold maps) | seconds (warm maps) |\n|---|---|---|")
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
    new_acc = warm.timings["  fuse: project+accumulate"]
    acc, old_acc = timed(lambda: legacy_accumulate(views, preds, alignment, w, h))
    print("\n| baseline (same run, same data) | baseline s | new s | ratio |\n|---|---|---|---|")
    print(f"| previous project+accumulate (whole sphere, float64) vs footprint bands (warm) "
          f"| {old_acc:.2f} | {new_acc:.2f} | {old_acc / new_acc:.1f}x |")  # fmt: skip
    x0 = fuse_mod._fill(acc.mean).ravel()
    (a, b), t_asm = timed(lambda: fuse_mod._system(acc, 90.0))
    (_, info), _ = timed(lambda: poisson.solve(a, b, x0=x0, preconditioner="jacobi", maxiter=40))
    t_old = t_asm + info.seconds
    keys = [k for k in warm.timings if "full" in k or "coarse" in k]
    t_new = sum(warm.timings[k] for k in keys)
    new_res = warm.info["solves"][-1]["residual"]
    print(f"| previous full-res solve: CSR assemble {t_asm:.1f} s + Jacobi-CG 40 it "
          f"(residual {info.residual:.1e}) vs coarse AMG + matrix-free refine "
          f"(residual {new_res:.1e}) | {t_old:.2f} | {t_new:.2f} | {t_old / t_new:.1f}x |")  # fmt: skip
    op, bg = fuse_mod._grid_system(acc, 90.0, fuse_mod._fill(acc.mean))
    probe = poisson.grid_pcg(op, bg, x0, maxiter=5, preconditioner="none")[1]
    per_it = max(probe.seconds - probe.setup_seconds, 1e-6) / max(probe.iterations, 1)
    cap = max(5, int(3 * t_new / per_it))
    _, info = poisson.grid_pcg(op, bg, x0, maxiter=cap, preconditioner="none")
    print(f"| unpreconditioned CG (matrix-free, from the feathered mean), capped at {cap} it = "
          f"3x the new solve time: residual {info.residual:.1e} vs new {new_res:.1e} "
          f"| {info.seconds:.2f} | {t_new:.2f} | {info.seconds / t_new:.1f}x |")  # fmt: skip
    fusion_old = old_acc + t_old
    print(f"| fusion total: previous accumulate + previous solve vs new fuse (warm) "
          f"| {fusion_old:.2f} | {warm.timings['fuse']:.2f} "
          f"| {fusion_old / warm.timings['fuse']:.1f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
