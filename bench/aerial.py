"""Benchmark: 360° stabilisation, sky segmentation and colour transfer against known truth,
with NAMED BASELINES measured in the same run on the same data.

* Stabilisation — synthetic street sequences (known camera path, translations up to 0.1 m per
  frame) and a real panorama turned by known random rotations with noise and JPEG: geodesic
  error of each frame-to-frame rotation, horizon tilt after levelling, frames per second at
  2048×1024 (features + matching + fit + derotation). Baseline ``kabsch-all``: the same
  matches fitted by plain Kabsch (no RANSAC, no translation model).
* Sky — synthetic streets (exact sky masks): IoU on the sphere (solid-angle weighted) and the
  error band along the skyline (median / 95th percentile angular distance of wrong pixels to
  the true skyline). Baseline ``colour-prior``: blue or bright pixels above the horizon.
* Colour transfer — each real panorama of data/polyhaven with a known cast (white balance +
  exposure) matched back to the original: solid-angle-weighted mean CIEDE2000. Baseline
  ``mean-std-rgb``: per-channel mean/std matching on the flat sRGB image.

    .venv/bin/python bench/aerial.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label360.settings")

import django  # noqa: E402

django.setup()

from annotations.imaging import tonemap_to_uint8  # noqa: E402
from inference.aerial import stabilise as stab  # noqa: E402
from inference.aerial.colour import linear_to_srgb, srgb_to_linear, transfer  # noqa: E402
from inference.aerial.rotations import angle_deg, kabsch  # noqa: E402
from inference.aerial.sky import (  # noqa: E402
    halo_width_deg,
    replace_sky,
    segment_sky,
    sky_iou,
    sky_plate,
)
from label360.sphere.projection import rotate_equirect  # noqa: E402
from label360.sphere.views import View  # noqa: E402
from label360.synthetic import render, render_sequence  # noqa: E402

DATA = ROOT / "data" / "polyhaven"


def real(name: str, width: int) -> np.ndarray:
    hdr = cv2.imread(str(DATA / name), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    rgb = tonemap_to_uint8(np.ascontiguousarray(hdr))
    return cv2.resize(rgb, (width, width // 2), interpolation=cv2.INTER_CUBIC)


# -- stabilisation ---------------------------------------------------------------------------
def kabsch_all(a: stab.FrameFeatures, b: stab.FrameFeatures) -> np.ndarray:
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(a.descriptors, b.descriptors, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < 0.8 * m[1].distance]
    va = a.vectors[[m.queryIdx for m in good]]
    vb = b.vectors[[m.trainIdx for m in good]]
    return kabsch(va, vb)


def rotation_errors(frames: list[np.ndarray], truth: list[np.ndarray]) -> dict:
    """truth[k] maps frame-k directions to frame-0 directions."""
    t0 = time.perf_counter()
    feats = [stab.frame_features(f) for f in frames]
    ours, base = [], []
    for k in range(1, len(frames)):
        true_q = truth[k].T @ truth[k - 1]  # frame k-1 -> frame k
        q, _ = stab.relative_rotation(feats[k - 1], feats[k])
        ours.append(angle_deg(q.T @ true_q))
        base.append(angle_deg(kabsch_all(feats[k - 1], feats[k]).T @ true_q))
    return {"ours": ours, "base": base, "seconds": time.perf_counter() - t0}


def stabilisation(quick: bool) -> None:
    print("== stabilisation (frame-to-frame rotation error, degrees)")
    n = 6 if quick else 12
    rows = []
    for seed in (4, 7) if not quick else (4,):
        frames = render_sequence("street", seed, width=2048, n_frames=n)
        r0 = frames[0].camera.rotation()
        truth = [r0.T @ f.camera.rotation() for f in frames]
        res = rotation_errors([f.rgb for f in frames], truth)
        up = stab.estimate_up([f.rgb for f in frames[:4]], truth[:4])
        tilt = np.degrees(np.arccos(np.clip(up @ (r0.T @ [0, 1, 0]), -1, 1)))
        rows.append((f"synthetic street {seed} ({n} frames, 2048)", res, tilt))
    rng = np.random.default_rng(1)
    for name in ("royal_esplanade_1k.hdr", "venice_sunset_1k.hdr"):
        base = real(name, 2048)
        frames, truth = [], []
        for _ in range(n):
            r = View(rng.uniform(-180, 180), rng.uniform(-10, 10), rng.uniform(-10, 10), 90, 1, 1)
            img = rotate_equirect(base, r.rotation())
            img = np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
            _, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
            frames.append(cv2.imdecode(buf, cv2.IMREAD_UNCHANGED))
            truth.append(r.rotation())
        # frame k shows at R_k d what the base shows at d: frame-k dirs -> frame-0 dirs
        truth_a = [truth[0] @ r.T for r in truth]
        res = rotation_errors(frames, truth_a)
        up = stab.estimate_up(frames[:4], truth_a[:4])
        tilt = np.degrees(np.arccos(np.clip(up @ (truth[0] @ [0, 1, 0]), -1, 1)))
        rows.append((f"real {name.split('_1k')[0]} rotated+noise+JPEG ({n}, 2048)", res, tilt))
    print(
        f"{'sequence':52s} {'ours med':>8s} {'ours max':>8s} {'kabsch-all med':>14s} "
        f"{'ratio':>6s} {'tilt':>6s}"
    )
    for name, res, tilt in rows:
        o, b = np.median(res["ours"]), np.median(res["base"])
        print(
            f"{name:52s} {o:8.3f} {max(res['ours']):8.3f} {b:14.3f} {b / max(o, 1e-9):6.1f}x "
            f"{tilt:6.2f}"
        )
    # speed: the whole job path at 2048×1024 (features, matches, fit, derotation)
    frames = render_sequence("street", 4, width=2048, n_frames=6)
    stab.stabilise_frames([f.rgb for f in frames[:2]], level=False)  # warm caches / JIT
    t0 = time.perf_counter()
    stab.stabilise_frames([f.rgb for f in frames], mode="smooth", level=False)
    fps = len(frames) / (time.perf_counter() - t0)
    print(f"speed: {fps:.1f} frames/s at 2048×1024 (target 5: {fps / 5:.2f}x)")


# -- sky -------------------------------------------------------------------------------------
def colour_prior(rgb: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    h = rgb.shape[0]
    lat = 90 - (np.arange(h) + 0.5) * 180 / h
    above = lat[:, None] > 0
    return above & ((lab[:, :, 2] < -10) | (lab[:, :, 0] > 85))


def sky(quick: bool) -> None:
    print("== sky segmentation (synthetic streets, 1024×512)")
    print(
        f"{'scene':18s} {'IoU':>6s} {'halo med':>8s} {'halo p95':>8s} {'prior IoU':>9s} "
        f"{'seconds':>7s}"
    )
    ious, base = [], []
    for seed in range(1, 4 if quick else 9):
        r = render("street", seed, width=1024)
        t0 = time.perf_counter()
        mask = segment_sky(r.rgb)
        dt = time.perf_counter() - t0
        prior = colour_prior(r.rgb)
        ious.append(sky_iou(mask, r.sky_mask))
        base.append(sky_iou(prior, r.sky_mask))
        print(
            f"street {seed:<11d} {ious[-1]:6.3f} {halo_width_deg(mask, r.sky_mask, 50):8.2f} "
            f"{halo_width_deg(mask, r.sky_mask, 95):8.2f} {base[-1]:9.3f} {dt:7.2f}"
        )
    print(
        f"mean IoU {np.mean(ious):.3f} (min {min(ious):.3f}); colour-prior baseline "
        f"{np.mean(base):.3f}"
    )


# -- colour ----------------------------------------------------------------------------------
def delta_e(a: np.ndarray, b: np.ndarray) -> float:
    import colour

    from inference.prelabel.merge import pixel_solid_angles

    d = colour.delta_E(
        colour.XYZ_to_Lab(colour.sRGB_to_XYZ(a / 255.0)),
        colour.XYZ_to_Lab(colour.sRGB_to_XYZ(b / 255.0)),
        method="CIE 2000",
    )
    w = np.broadcast_to(pixel_solid_angles(a.shape[1], a.shape[0]), d.shape)
    return float((d * w).sum() / w.sum())


def mean_std_rgb(src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    s, r = src.astype(np.float64), ref.astype(np.float64)
    out = (s - s.mean((0, 1))) / np.maximum(s.std((0, 1)), 1e-6) * r.std((0, 1)) + r.mean((0, 1))
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def colour_transfer(quick: bool) -> None:
    print("== colour transfer (mean CIEDE2000 to the original, solid-angle weighted)")
    casts = [((1.25, 1.0, 0.75), -0.5), ((0.8, 1.0, 1.3), 0.5), ((1.1, 0.95, 0.9), 1.0)]
    print(f"{'panorama':28s} {'cast':24s} {'before':>6s} {'ours':>6s} {'mean-std-rgb':>12s}")
    ours_all, base_all = [], []
    names = sorted(p.name for p in DATA.glob("*.hdr"))
    for name in names[:2] if quick else names:
        original = real(name, 1024)
        lin = srgb_to_linear(original)
        for gains, ev in casts:
            cast = linear_to_srgb(lin * np.array(gains, np.float32) * 2.0**ev)
            ours = delta_e(transfer(cast, original), original)
            base = delta_e(mean_std_rgb(cast, original), original)
            ours_all.append(ours)
            base_all.append(base)
            print(
                f"{name.split('_1k')[0]:28s} {str(gains) + f' {ev:+.1f} EV':24s} "
                f"{delta_e(cast, original):6.2f} {ours:6.2f} {base:12.2f}"
            )
    print(
        f"mean ΔE2000: ours {np.mean(ours_all):.2f} (max {max(ours_all):.2f}), "
        f"mean-std-rgb {np.mean(base_all):.2f}; ratio {np.mean(base_all) / np.mean(ours_all):.1f}x"
    )


# -- pictures for the docs -------------------------------------------------------------------
def _caption(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (11 * len(text) + 12, 26), (0, 0, 0), -1)
    cv2.putText(out, text, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1)
    return out


def _sky_overlay(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = rgb.copy()
    out[mask] = (0.45 * out[mask] + 0.55 * np.array([255, 0, 255])).astype(np.uint8)
    return out


def pictures(folder: Path) -> None:
    """Before / sky found / after for a real and a synthetic street, and a colour cast undone:
    the pictures of docs/aerial.md (JPEG, 1024 px wide)."""
    folder.mkdir(parents=True, exist_ok=True)
    new_sky = sky_plate(real("venice_sunset_1k.hdr", 1024))
    rows = []
    for name, rgb in (
        ("real: blouberg_sunrise_2", real("blouberg_sunrise_2_1k.hdr", 1024)),
        ("synthetic street 6", render("street", 6, width=1024).rgb),
    ):
        mask = segment_sky(rgb)
        after = replace_sky(rgb, mask, new_sky, heading_deg=40.0)
        rows += [
            _caption(rgb, f"{name}: before"),
            _caption(_sky_overlay(rgb, mask), "sky found (magenta)"),
            _caption(after, "after: venice_sunset sky, foreground relit"),
        ]
    sky_path = folder / "aerial_sky.jpg"
    cv2.imwrite(str(sky_path), np.concatenate(rows)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 82])
    original = real("spruit_sunrise_1k.hdr", 1024)
    lin = srgb_to_linear(original)
    cast = linear_to_srgb(lin * np.array((1.25, 1.0, 0.75), np.float32) * 2.0**0.5)
    matched = transfer(cast, original)
    colour_rows = [
        _caption(cast, "with a colour cast (+0.5 EV, warm white balance)"),
        _caption(matched, f"matched back: mean dE2000 {delta_e(matched, original):.2f}"),
        _caption(original, "original"),
    ]
    colour_path = folder / "aerial_colour.jpg"
    cv2.imwrite(
        str(colour_path), np.concatenate(colour_rows)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 82]
    )
    print(f"wrote {sky_path} and {colour_path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer scenes (a smoke run)")
    parser.add_argument("--only", choices=["stabilisation", "sky", "colour"])
    parser.add_argument(
        "--pictures", type=Path, metavar="FOLDER", help="only write the docs' before/after JPEGs"
    )
    args = parser.parse_args()
    if args.pictures:
        pictures(args.pictures)
        return
    if args.only in (None, "stabilisation"):
        stabilisation(args.quick)
    if args.only in (None, "sky"):
        sky(args.quick)
    if args.only in (None, "colour"):
        colour_transfer(args.quick)


if __name__ == "__main__":
    main()
