"""Benchmark: cameraman/tripod removal against the true pixels, and its speed.

Ground truth: the real CC0 panoramas of data/polyhaven/ (tone-mapped to 8 bits) and
synthetic street/room renders (without the scene's own camera rig, so the truth under the
pasted occluder is the ground), with a synthetic occluder pasted at the nadir — a tripod
(hub and three legs) and a person seen from above — drawn on the sphere and rasterised
exactly. Every method fills the same mask (the occluder grown by 3 px on the sphere);
scores inside it come from :mod:`inference.cameraman.metrics` (a view centred on the mask).

Methods, all in this run:

* ``telea-equirect`` — baseline: ``cv2.inpaint`` Telea on the equirect image, one pass;
* ``ours-flat`` — baseline: our method (``blend``) on the equirect rows, without rotation;
* ``ours-flat-smooth`` — the structure-guided smooth fill on the equirect rows (what the
  rotation does for the smooth fill alone: compare with ``ours-smooth``);
* ``ours-telea`` — the work frame with Telea instead of our fills (the usual smooth fill);
* ``ours-harmonic`` — the work frame with the harmonic fill (what the structure guidance adds);
* ``ours-smooth`` — the work frame with the structure-guided smooth fill alone (what the
  texture costs);
* ``ours-patch`` — the work frame with the exemplar fill alone (what the structure gains);
* ``ours-averaged`` — the default with the exemplar's classic vote (every pixel the weighted
  mean of the patches covering it) instead of copying the best patch;
* ``ours`` — the default (``blend``): the work frame, structure-guided smooth fill + exemplar
  texture.

Large holes: the same methods on a 30° nadir cap (the job's default mask) over the real
ground of every image, where the texture score (gradient energy inside the mask over the
truth's) shows what PSNR does not: a flat fill.

Speed: an 8192x4096 panorama with a 30° nadir cap, ours vs Telea on the equirect image.

Video, on synthetic clips with exact truth (a street render seen by a turning camera):

* ``video`` — frames per second at 2048x1024 after the first, against removing every frame
  on its own;
* ``temporal`` — flicker of the fill (mean change inside the mask from frame to frame once
  the previous frame is turned by the camera's true rotation) on a turning, wobbling camera,
  against inpainting every frame, with the true scene's own flicker as the floor;
* ``refinement`` — class masks between keyframes for a person swaying about the nadir:
  occluder pixels left visible with and without refinement from the frame's pixels;
* ``memory`` — resident memory, frame by frame, of the job's decode → clean → encode → join
  loop on a generated 3840x1920 clip in a fresh process.

    .venv/bin/python bench/cameraman.py [--quick] [--skip-<part>] [--only <part>]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from skimage.restoration import inpaint_biharmonic

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label360.settings")

import django  # noqa: E402

django.setup()

from memory import peak_rss_mib, rss_mib  # noqa: E402

from annotations.imaging import tonemap_to_uint8  # noqa: E402
from inference.cameraman.frame import (  # noqa: E402
    WorkFrame,
    composite,
    crop_mask,
    extract,
    make_frame,
)
from inference.cameraman.harmonic import harmonic_fill  # noqa: E402
from inference.cameraman.inpaint import InpaintOptions, correct_border, inpaint  # noqa: E402
from inference.cameraman.mask import cap_mask, grow, polygon_mask  # noqa: E402
from inference.cameraman.metrics import fill_scores  # noqa: E402
from inference.cameraman.remove import RemovalOptions, remove  # noqa: E402
from inference.cameraman.structure import structure_fill  # noqa: E402
from label360.sphere.projection import (  # noqa: E402
    equirect_directions,
    equirect_to_view,
    sample_equirect,
)
from label360.sphere.vectors import rot_x, rot_y, rot_z, vec_to_lonlat  # noqa: E402
from label360.synthetic import make_scene, render_scene  # noqa: E402

DATA = ROOT / "data" / "polyhaven"
WIDTH = 1024


def real(path: Path, width: int = WIDTH) -> np.ndarray:
    hdr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    rgb = tonemap_to_uint8(np.ascontiguousarray(hdr))
    if rgb.shape[1] != width:
        rgb = cv2.resize(rgb, (width, width // 2), interpolation=cv2.INTER_CUBIC)
    return rgb


def ground_ring(points_xz: list[tuple[float, float]]) -> list[list[float]]:
    """A ring drawn on the ground plane one unit below the camera (x, z) -> [lon, lat]."""
    out = []
    for x, z in points_xz:
        v = np.array([x, -1.0, z]) / math.sqrt(x * x + 1 + z * z)
        lon, lat = vec_to_lonlat(v)
        out.append([float(lon), float(lat)])
    return out


def tripod() -> list:
    """Hub (a disc round the nadir) and three legs, as spherical polygons."""
    hub = [[ground_ring([(0.13 * math.cos(a), 0.13 * math.sin(a))
                         for a in np.linspace(0, 2 * math.pi, 24, endpoint=False)])]]  # fmt: skip
    legs = []
    for k in range(3):
        a = math.radians(90 + 120 * k)
        c, s = math.cos(a), math.sin(a)
        w, length = 0.035, 0.75
        corners = [(0.05, -w), (length, -w * 0.6), (length, w * 0.6), (0.05, w)]
        legs.append([ground_ring([(r * c - t * s, r * s + t * c) for r, t in corners])])
    return [hub, *legs]


def person(sway_deg: float = 0.0) -> list:
    """Head and shoulders seen from above: an ellipse off the nadir, plus an arm; turned by
    ``sway_deg`` about the nadir (the person swaying)."""
    c, s = math.cos(math.radians(sway_deg)), math.sin(math.radians(sway_deg))

    def turn(points):
        return [(x * c - z * s, x * s + z * c) for x, z in points]

    body = [(0.05 + 0.32 * math.cos(a), 0.22 * math.sin(a))
            for a in np.linspace(0, 2 * math.pi, 32, endpoint=False)]  # fmt: skip
    arm = [(0.2, 0.15), (0.55, 0.3), (0.5, 0.38), (0.12, 0.22)]
    return [[ground_ring(turn(body))], [ground_ring(turn(arm))]]


OCCLUDERS = {"tripod": tripod, "person": person}


def paste(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = image.copy()
    out[mask] = (40, 38, 36)
    return out


#: Context round the mask (degrees), the method's own default: every fill here sees as much.
MARGIN_DEG = RemovalOptions().margin_deg


def work_frame_fill(image: np.ndarray, mask: np.ndarray, fill) -> tuple[WorkFrame, np.ndarray]:
    """The frame and the crop filled by ``fill(crop, hole)``, in the same work frame and hole
    as our methods."""
    frame = make_frame(mask, MARGIN_DEG)
    cropped = crop_mask(mask, frame)
    return frame, fill(cropped.clean(extract(image, frame), image), cropped.hole)


def in_work_frame(image: np.ndarray, mask: np.ndarray, fill) -> np.ndarray:
    """``fill(crop, hole)`` run in the same work frame and hole as our methods."""
    frame, filled = work_frame_fill(image, mask, fill)
    return composite(image, filled, mask, frame)


def telea_fill(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    return cv2.inpaint(crop, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA)


def harmonic_only(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    return np.clip(harmonic_fill(crop.astype(np.float32), hole), 0, 255)


def run_methods(image: np.ndarray, occluder: list) -> dict:
    h, w = image.shape[:2]
    exact = polygon_mask(occluder, w, h)
    frame = make_frame(exact, MARGIN_DEG)
    mask = grow(exact, frame, 3)
    pasted = paste(image, exact)
    results = {}
    t = time.perf_counter()
    telea = cv2.inpaint(pasted, mask.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    results["telea-equirect"] = (telea, time.perf_counter() - t)
    for name, fill in [("ours-telea", telea_fill), ("ours-harmonic", harmonic_only)]:
        t = time.perf_counter()
        results[name] = (in_work_frame(pasted, mask, fill), time.perf_counter() - t)
    for name, options in [
        ("ours-flat", RemovalOptions(rotate=False, grow_px=0)),
        (
            "ours-flat-smooth",
            RemovalOptions(InpaintOptions(method="smooth"), rotate=False, grow_px=0),
        ),
        ("ours-smooth", RemovalOptions(InpaintOptions(method="smooth"), grow_px=0)),
        ("ours-patch", RemovalOptions(InpaintOptions(method="patch"), grow_px=0)),
        ("ours-averaged", RemovalOptions(InpaintOptions(copy_patches=False), grow_px=0)),
        ("ours", RemovalOptions(grow_px=0)),
    ]:
        t = time.perf_counter()
        out = remove(pasted, mask, options).image
        results[name] = (out, time.perf_counter() - t)
    return score_results(image, mask, pasted, results)


def score_results(image: np.ndarray, mask: np.ndarray, pasted: np.ndarray, results: dict) -> dict:
    scores = {}
    for name, (out, seconds) in results.items():
        assert np.array_equal(out[~mask], pasted[~mask]), name  # only the mask changed
        scores[name] = {**fill_scores(image, out, mask), "seconds": seconds}
    return scores


SYNTHETIC_SEEDS = {"street": 3, "room": 5}


def bare_render(kind: str, seed: int, width: int) -> np.ndarray:
    """A synthetic scene rendered without the camera's rig (its tripod, the room's cameraman):
    the true ground under the camera, which is what a fill should give back."""
    return render_scene(make_scene(kind, seed).without_rig(), width=width).rgb


def scene(label: str) -> np.ndarray:
    """One test image by its table label: a real panorama or ``synthetic-<kind>``."""
    if label.startswith("synthetic-"):
        kind = label.removeprefix("synthetic-")
        return bare_render(kind, SYNTHETIC_SEEDS[kind], WIDTH)
    return real(DATA / f"{label}_1k.hdr")


def images(quick: bool) -> list[tuple[str, np.ndarray]]:
    labels = [p.stem.replace("_1k", "") for p in sorted(DATA.glob("*.hdr"))]
    labels += [f"synthetic-{kind}" for kind in SYNTHETIC_SEEDS]
    if quick:
        labels = labels[:2] + labels[-1:]
    return [(label, scene(label)) for label in labels]


def quality(quick: bool) -> None:
    names = [
        "telea-equirect",
        "ours-flat",
        "ours-flat-smooth",
        "ours-telea",
        "ours-harmonic",
        "ours-smooth",
        "ours-patch",
        "ours-averaged",
        "ours",
    ]
    print(f"\n## Quality inside the mask ({WIDTH}x{WIDTH // 2}; view centred on the mask)\n")
    print("PSNR (dB) / SSIM inside the mask; seam scores in the summary below.\n")
    print("| image | occluder | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    totals = {n: [] for n in names}
    for label, image in images(quick):
        for occ_name, make in OCCLUDERS.items():
            scores = run_methods(image, make())
            cells = [f"{scores[n]['psnr']:.2f} / {scores[n]['ssim']:.3f}" for n in names]
            print(f"| {label} | {occ_name} | " + " | ".join(cells) + " |", flush=True)
            for n in names:
                totals[n].append(scores[n])
    summary(names, totals)
    compare(totals, [("ours", "telea-equirect"), ("ours", "ours-flat"),
                     ("ours-smooth", "ours-flat-smooth")])  # fmt: skip


def compare(totals: dict, pairs: list[tuple[str, str]]) -> None:
    """Case by case: how often and by how much the first method of each pair beats the
    second (``totals``: each method's scores, one per case, in the same order)."""
    for ours, base in pairs:
        d = np.array([(a["psnr"] - b["psnr"], a["ssim"] - b["ssim"])
                      for a, b in zip(totals[ours], totals[base], strict=True)])  # fmt: skip
        print(
            f"\n{ours} vs {base}: PSNR better on {(d[:, 0] > 0).sum()}/{len(d)} cases "
            f"(min {d[:, 0].min():+.2f} dB, mean {d[:, 0].mean():+.2f} dB); "
            f"SSIM better on {(d[:, 1] > 0).sum()}/{len(d)} (mean {d[:, 1].mean():+.3f})"
        )


def summary(names: list[str], totals: dict) -> None:
    """Mean scores per method (texture: 1.0 is as textured as the truth, 0 flat)."""
    print("\n| method | mean PSNR (dB) | mean SSIM | mean seam | mean texture | mean seconds |")
    print("|---|---|---|---|---|---|")
    for n in names:
        rows = totals[n]
        means = [
            np.mean([r[k] for r in rows]) for k in ("psnr", "ssim", "seam", "texture", "seconds")
        ]
        print(f"| {n} | {means[0]:.2f} | {means[1]:.3f} | {means[2]:.2f} | {means[3]:.2f} | "
              f"{means[4]:.2f} |")  # fmt: skip


#: The job's default mask: a 30° nadir cap.
LARGE_CAP_DEG = 30.0


def large_cap(quick: bool) -> None:
    """A 30° nadir cap over the real ground: PSNR / SSIM / texture per image, then means."""
    names = ["telea-equirect", "ours-flat", "ours-smooth", "ours-patch", "ours-averaged", "ours"]
    print(f"\n## Large holes: a {LARGE_CAP_DEG:.0f}° nadir cap ({WIDTH}x{WIDTH // 2})\n")
    print("PSNR (dB) / SSIM / texture inside the mask (texture 1.0: as textured as the truth).\n")
    print("| image | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    totals = {n: [] for n in names}
    for label, image in images(quick):
        h, w = image.shape[:2]
        mask = cap_mask(w, h, LARGE_CAP_DEG)
        pasted = paste(image, mask)
        results = {}
        t = time.perf_counter()
        telea = cv2.inpaint(pasted, mask.astype(np.uint8), 3, cv2.INPAINT_TELEA)
        results["telea-equirect"] = (telea, time.perf_counter() - t)
        for name, options in [
            ("ours-flat", RemovalOptions(rotate=False, grow_px=0)),
            ("ours-smooth", RemovalOptions(InpaintOptions(method="smooth"), grow_px=0)),
            ("ours-patch", RemovalOptions(InpaintOptions(method="patch"), grow_px=0)),
            ("ours-averaged", RemovalOptions(InpaintOptions(copy_patches=False), grow_px=0)),
            ("ours", RemovalOptions(grow_px=0)),
        ]:
            t = time.perf_counter()
            results[name] = (remove(pasted, mask, options).image, time.perf_counter() - t)
        scores = score_results(image, mask, pasted, results)
        for n in names:
            totals[n].append(scores[n])
        cells = [f"{scores[n]['psnr']:.2f} / {scores[n]['ssim']:.3f} / {scores[n]['texture']:.2f}"
                 for n in names]  # fmt: skip
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    summary(names, totals)
    compare(totals, [("ours", "telea-equirect"), ("ours", "ours-flat")])


def in_equirect_rows(image: np.ndarray, mask: np.ndarray, fill) -> np.ndarray:
    """``fill(crop, hole)`` on the equirect rows round the mask (``MARGIN_DEG`` above and
    below, as the method without rotation crops them), the crop wrapped round in longitude."""
    h, w = mask.shape
    rows = np.flatnonzero(mask.any(axis=1))
    extra = round(MARGIN_DEG / 180.0 * h)
    r0, r1 = max(0, rows[0] - extra), min(h, rows[-1] + 1 + extra)
    pad = w // 8
    crop = cv2.copyMakeBorder(image[r0:r1], 0, 0, pad, pad, cv2.BORDER_WRAP)
    hole = cv2.copyMakeBorder(mask[r0:r1].astype(np.uint8), 0, 0, pad, pad, cv2.BORDER_WRAP)
    filled = fill(crop, hole > 0)[:, pad : pad + w]
    out = image.copy()
    inside = mask[r0:r1]
    out[r0:r1][inside] = np.clip(np.rint(filled[inside]), 0, 255).astype(image.dtype)
    return out


def structure_only(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    sigma = InpaintOptions().structure_sigma
    return np.clip(structure_fill(crop.astype(np.float32), hole, sigma), 0, 255)


def biharmonic_only(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    filled = inpaint_biharmonic(crop.astype(np.float64) / 255.0, hole, channel_axis=-1)
    return np.clip(filled * 255.0, 0, 255)


def smooth_fills(quick: bool) -> None:
    """Each smooth fill alone, in the work frame and on the equirect rows: how much the
    rotation gives each, and where each stands."""
    fills = {"harmonic": harmonic_only, "structure": structure_only, "biharmonic": biharmonic_only}
    print(f"\n## Smooth fills with and without rotation ({WIDTH}x{WIDTH // 2}, PSNR in the mask)\n")
    print("| image | occluder | " + " | ".join(f"{n} rotated / rows" for n in fills) + " |")
    print("|---|---|" + "---|" * len(fills))
    scores = {n: [] for n in fills}
    for label, image in images(quick):
        for occ_name, make in OCCLUDERS.items():
            h, w = image.shape[:2]
            exact = polygon_mask(make(), w, h)
            mask = grow(exact, make_frame(exact, MARGIN_DEG), 3)
            pasted = paste(image, exact)
            cells = []
            for name, fill in fills.items():
                pair = [
                    fill_scores(image, out, mask)["psnr"]
                    for out in (in_work_frame(pasted, mask, fill), in_equirect_rows(pasted, mask, fill))
                ]  # fmt: skip
                scores[name].append(pair)
                cells.append(f"{pair[0]:.2f} / {pair[1]:.2f}")
            print(f"| {label} | {occ_name} | " + " | ".join(cells) + " |", flush=True)
    print(
        "\n| fill | mean rotated (dB) | mean rows (dB) | rotation better on | min gain | mean gain |"
    )
    print("|---|---|---|---|---|---|")
    for name, pairs in scores.items():
        p = np.array(pairs)
        gain = p[:, 0] - p[:, 1]
        print(
            f"| {name} | {p[:, 0].mean():.2f} | {p[:, 1].mean():.2f} | {(gain > 0).sum()}/{len(p)} "
            f"| {gain.min():+.2f} | {gain.mean():+.2f} |"
        )


def with_exact_border(image: np.ndarray, mask: np.ndarray, fill) -> tuple[np.ndarray, np.ndarray]:
    """``fill`` in the work frame composited as the method does, and the same fill with the
    source's own border re-imposed: the fill sampled back over the mask's rows, corrected by
    the method's smooth border correction (:func:`correct_border`, on the equirect rows) for
    what it misses on the known pixels round the mask — what the round trip loses."""
    frame, filled = work_frame_fill(image, mask, fill)
    plain = composite(image, filled, mask, frame)
    rows = np.flatnonzero(mask.any(axis=1))
    lo, hi = max(0, rows[0] - 1), min(mask.shape[0], rows[-1] + 2)
    mx, my = frame.back_maps(lo, hi)
    work = np.ascontiguousarray(filled, np.float32)
    back = cv2.remap(work, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    hole = mask[lo:hi]
    fixed = correct_border(image[lo:hi], hole, back)
    corrected = image.copy()
    corrected[lo:hi][hole] = np.clip(np.rint(fixed[hole]), 0, 255).astype(image.dtype)
    return plain, corrected


def round_trip(quick: bool) -> None:
    """What the round trip through the work frame costs: the true pixels sampled into the
    frame and back (the best any fill there can score), and the default fill with and
    without the source's own border re-imposed, against the method without rotation."""
    print(f"\n## The round trip through the work frame ({WIDTH}x{WIDTH // 2}, PSNR in the mask)\n")
    names = ["truth round trip", "ours", "ours + exact border", "ours-flat"]
    print("| image | occluder | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    options = RemovalOptions(grow_px=0)

    def blend(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:  # the default, as remove runs it
        return inpaint(crop.astype(np.float32), hole, options.inpaint_for(WIDTH))

    scores = []
    for label, image in images(quick):
        h, w = image.shape[:2]
        for occ_name, make in OCCLUDERS.items():
            exact = polygon_mask(make(), w, h)
            frame = make_frame(exact, MARGIN_DEG)
            mask = grow(exact, frame, 3)
            pasted = paste(image, exact)
            truth = composite(image, extract(image, frame).astype(np.float32), mask, frame)
            plain, corrected = with_exact_border(pasted, mask, blend)
            assert np.array_equal(plain, remove(pasted, mask, options).image)  # the method
            flat = remove(pasted, mask, RemovalOptions(rotate=False, grow_px=0)).image
            row = [fill_scores(image, out, mask)["psnr"] for out in (truth, plain, corrected, flat)]
            scores.append(row)
            print(f"| {label} | {occ_name} | " + " | ".join(f"{v:.2f}" for v in row) + " |",
                  flush=True)  # fmt: skip
    s = np.array(scores)
    print("\n| method | mean PSNR (dB) | better than ours-flat on | min gain | mean gain |")
    print("|---|---|---|---|---|")
    for k in (1, 2):
        gain = s[:, k] - s[:, 3]
        print(
            f"| {names[k]} | {s[:, k].mean():.2f} | {(gain > 0).sum()}/{len(s)} | "
            f"{gain.min():+.2f} | {gain.mean():+.2f} |"
        )


def speed() -> None:
    print("\n## Speed: 8192x4096, 30° nadir cap (grown by 4 px)\n")
    image = real(DATA / "venice_sunset_1k.hdr", 8192)
    rng = np.random.default_rng(0)  # fine grain so the upscaled image has texture at 8K
    image = np.clip(image.astype(np.int16) + rng.integers(-6, 7, image.shape), 0, 255)
    image = image.astype(np.uint8)
    mask = cap_mask(8192, 4096, 30.0 + 4 * 180.0 / 4096)
    remove(image[::8, ::8].copy(), mask[::8, ::8].copy(), RemovalOptions(grow_px=0))  # compile
    t = time.perf_counter()
    result = remove(image, mask, RemovalOptions(grow_px=0))
    ours = time.perf_counter() - t
    t = time.perf_counter()
    cv2.inpaint(image, mask.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    telea = time.perf_counter() - t
    print(f"ours: {ours:.1f} s (stages {result.timings}); goal <= 20 s: "
          f"{'met' if ours <= 20 else 'NOT met'}")  # fmt: skip
    print(f"telea-equirect (baseline, same run): {telea:.1f} s; ratio ours/telea = "
          f"{ours / telea:.2f}")  # fmt: skip
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


# -- video ------------------------------------------------------------------------------------
def camera(k: int, yaw: float = 1.0) -> np.ndarray:
    """Orientation of a hand-held camera at frame k: turning ``yaw`` degrees a frame and
    wobbling a little in pitch and roll (world direction w is seen at camera direction C w)."""
    return rot_y(yaw * k) @ rot_x(0.4 * math.sin(k / 3)) @ rot_z(0.3 * math.cos(k / 4))


def camera_frames(base: np.ndarray, width: int, count: int, yaw: float = 1.0) -> list:
    """The true frames (no occluder) of a camera turning in the scene ``base``."""
    d = equirect_directions(width, width // 2).reshape(width // 2, width, 3)
    return [sample_equirect(base, d @ camera(k, yaw).astype(np.float32)) for k in range(count)]


def noisy(frame: np.ndarray, rng) -> np.ndarray:
    """Sensor noise of ±2 code values, new on every frame."""
    return np.clip(frame.astype(np.int16) + rng.integers(-2, 3, frame.shape), 0, 255).astype(
        np.uint8
    )


def video_params(**extra) -> dict:
    from inference.cameraman.video_job import validate_video_params

    return validate_video_params({"sequence": 1, **extra})


def video_speed(frames: int = 12) -> None:
    """Frames per second of the video cleaner at 2048x1024 after the first frame (30° cap,
    the camera turning 0.5° a frame), against removing each frame on its own."""
    from inference.cameraman.video_clean import VideoCleaner

    print(f"\n## Video speed: {frames} frames at 2048x1024, 30° cap, camera turning 0.5°/frame\n")
    base = bare_render("street", 3, 2048)
    rng = np.random.default_rng(1)
    clip = [noisy(f, rng) for f in camera_frames(base, 2048, frames, yaw=0.5)]
    cleaner = VideoCleaner(video_params(cap_deg=30), 2048, 1024, None)
    cleaner.clean(clip[0], 0.0)  # first frame: compiles, builds the maps, full inpaint
    t = time.perf_counter()
    for k in range(1, frames):
        cleaner.clean(clip[k], k / 24)
    ours = (frames - 1) / (time.perf_counter() - t)
    mask = cleaner.fixed_mask
    t = time.perf_counter()
    for k in range(1, 4):
        remove(clip[k], mask, RemovalOptions(grow_px=0))
    single = 3 / (time.perf_counter() - t)
    stats = cleaner.stats.as_dict()
    print(f"ours: {ours:.2f} frames/s after the first ({stats['reused_fills']} of {frames - 1} "
          f"fills re-used under the measured rotation, up to "
          f"{stats['max_reuse_rotation_deg']:.1f}°); goal >= 2: "
          f"{'met' if ours >= 2 else 'NOT met'}")  # fmt: skip
    print(f"per-frame single-image removal (baseline, same run): {single:.2f} frames/s; "
          f"ratio {ours / single:.1f}x")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def flicker(frames: list, mask: np.ndarray, yaw: float) -> float:
    """Mean absolute change (code values) inside the mask from one frame to the next, once
    the previous frame is turned by the camera's true rotation: what a viewer sees move."""
    h, w = mask.shape
    d = equirect_directions(w, h).reshape(h, w, 3)
    values = []
    for k in range(1, len(frames)):
        turn = (camera(k - 1, yaw) @ camera(k, yaw).T).T.astype(np.float32)
        before = sample_equirect(frames[k - 1], d @ turn).astype(np.float64)
        seen = sample_equirect(mask.astype(np.float32), d @ turn) > 0.999
        region = cv2.erode((mask & seen).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        values.append(float(np.abs(frames[k].astype(np.float64) - before)[region].mean()))
    return float(np.mean(values))


def temporal(frames: int = 12, width: int = 1024, yaw: float = 1.0) -> None:
    """Flicker of the fill on a synthetic turning camera: per-frame inpainting against re-use
    of the reference fill under the measured rotation."""
    from inference.cameraman.temporal import Keyframes
    from inference.cameraman.video_clean import VideoCleaner

    print(f"\n## Temporal consistency: {frames} frames at {width}x{width // 2}, tripod at the "
          f"nadir, camera turning {yaw}°/frame with pitch/roll wobble\n")  # fmt: skip
    truth = camera_frames(bare_render("street", 3, 2048), width, frames, yaw)
    occluder = tripod()
    exact = polygon_mask(occluder, width, width // 2)
    rng = np.random.default_rng(0)
    clip = []
    for frame in truth:
        frame = noisy(frame, rng)
        frame[exact] = (40, 38, 36)  # the tripod turns with the camera: fixed in the frame
        clip.append(frame)
    keys = Keyframes([0.0], [occluder])
    print("| method | flicker (code values) | flicker − true scene's | PSNR in mask (dB) | "
          "fresh / re-used fills | s per frame after the first |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    truth_flicker = None
    for name, reuse in [("per-frame inpainting (baseline)", False), ("ours: re-use under "
                        "rotation", True)]:  # fmt: skip
        cleaner = VideoCleaner(video_params(mask="class", label_class=1, reuse=reuse),
                               width, width // 2, keys)  # fmt: skip
        out, seconds = [], []
        for k, frame in enumerate(clip):
            t = time.perf_counter()
            out.append(cleaner.clean(frame, k / 24))
            seconds.append(time.perf_counter() - t)
        mask = cleaner.mask_at(0.0)
        if truth_flicker is None:
            truth_flicker = flicker(truth, mask, yaw)
        f = flicker(out, mask, yaw)
        psnr = np.mean([
            10 * np.log10(255.0**2 / np.mean((o[mask].astype(float) - t[mask]) ** 2))
            for o, t in zip(out, truth, strict=True)
        ])  # fmt: skip
        s = cleaner.stats
        print(f"| {name} | {f:.2f} | {f - truth_flicker:+.2f} | {psnr:.2f} | "
              f"{s.fresh} / {s.reused} | {np.mean(seconds[1:]):.2f} |")  # fmt: skip
    print(f"\nthe true scene itself (resampling and sensor noise): flicker {truth_flicker:.2f}")


def refinement(frames: int = 9, width: int = 1024) -> None:
    """Masks between keyframes: a person swaying about the nadir (sin over the clip) is drawn
    on the first and last frames only; interpolation keeps it still in between."""
    from inference.cameraman.temporal import Keyframes
    from inference.cameraman.video_clean import VideoCleaner

    h = width // 2
    base = bare_render("street", 3, width)
    print(f"\n## Mask refinement between keyframes: {frames} frames at {width}x{h}, a person "
          f"swaying about the nadir, drawn on the first and last frame only\n")  # fmt: skip
    print("| sway | refine_px | occluder left visible: mean / worst frame | mask beyond the "
          "occluder (÷ occluder) | s per mask |")  # fmt: skip
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for amplitude in (6.0, 12.0, 20.0):
        sway = [amplitude * math.sin(math.pi * k / (frames - 1)) for k in range(frames)]
        truths, clip = [], []
        for angle in sway:
            m = polygon_mask(person(angle), width, h)
            frame = base.copy()
            frame[m] = np.clip(np.array([60, 52, 48]) + rng.integers(-10, 11, (int(m.sum()), 3)),
                               0, 255)  # fmt: skip
            truths.append(m)
            clip.append(frame)
        keys = Keyframes([0.0, (frames - 1) / 24], [[person(0.0)], [person(0.0)]])
        for band in (0, 12):
            params = video_params(mask="class", label_class=1, refine_px=band)
            cleaner = VideoCleaner(params, width, h, keys)
            missed, extra, seconds = [], [], []
            for k, (frame, truth) in enumerate(zip(clip, truths, strict=True)):
                t = time.perf_counter()
                m = cleaner.mask_at(k / 24, frame)
                seconds.append(time.perf_counter() - t)
                missed.append((truth & ~m).sum() / truth.sum())
                extra.append((m & ~truth).sum() / truth.sum())
            print(f"| {amplitude:.0f}° | {band} | {100 * np.mean(missed):.2f} % / "
                  f"{100 * np.max(missed):.2f} % | {np.mean(extra):.3f} | "
                  f"{np.mean(seconds):.3f} |")  # fmt: skip


# -- memory of a 4K clip, streamed ------------------------------------------------------------
def make_clip(path: str, frames: int, width: int = 3840, fps: int = 30) -> None:
    """A 360° clip (4K by default): a street turning 0.5° a frame, a tripod at the nadir, AAC
    audio."""
    import av

    h = width // 2
    base = cv2.resize(bare_render("street", 3, 2048), (width, h), interpolation=cv2.INTER_CUBIC)
    exact = polygon_mask(tripod(), width, h)
    rng = np.random.default_rng(2)
    with av.open(path, mode="w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, h, "yuv420p"
        video.options = {"crf": "20", "preset": "ultrafast"}
        audio = out.add_stream("aac", rate=48000)
        audio.layout = "stereo"
        samples = 0
        for k in range(frames):
            frame = noisy(np.roll(base, int(round(k * 0.5 * width / 360)), axis=1), rng)
            frame[exact] = (40, 38, 36)
            for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
            n = 48000 // fps
            tone = np.sin(np.arange(samples, samples + n) * 0.03).astype(np.float32) * 0.2
            chunk = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp",
                                               layout="stereo")  # fmt: skip
            chunk.sample_rate, chunk.pts = 48000, samples
            samples += n
            for packet in audio.encode(chunk):
                out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                out.mux(packet)


class FolderSegments:
    """The job's segment store on a local folder (the job uses Django's storage)."""

    def __init__(self, folder: str):
        self.folder = folder

    def _path(self, k: int, ext: str) -> str:
        return os.path.join(self.folder, f"seg_{k:06d}.{ext}")

    def done(self, k: int) -> bool:
        return os.path.exists(self._path(k, "json"))

    def store(self, k: int, local: str, frames: int) -> None:
        import shutil

        shutil.copyfile(local, self._path(k, "mp4"))
        with open(self._path(k, "json"), "w") as handle:
            handle.write(str(frames))

    def fetch(self, k: int, local: str) -> None:
        import shutil

        shutil.copyfile(self._path(k, "mp4"), local)


def memory_child(path: str) -> None:
    """Run the video job's streaming loop (decode → clean → encode segments → join with the
    audio) on ``path`` in this process with the job's defaults (40° cap: the tripod's legs
    reach 37° from the nadir); print the resident memory after every frame (JSON)."""
    import json
    import tempfile

    from inference.cameraman.video_clean import VideoCleaner
    from inference.cameraman.video_job import clean_segments, join_segments
    from sequences.video import probe

    info = probe(path)
    after_imports = rss_mib()
    params = video_params(cap_deg=40)
    seg = params["segment_frames"]
    cleaning, joining = [], []
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as store, tempfile.TemporaryDirectory() as work:
        cleaner = VideoCleaner(params, info.width, info.height, None)
        segments = FolderSegments(store)
        count = clean_segments(path, info, cleaner, segments, seg, work,
                               lambda n: cleaning.append(rss_mib()))  # fmt: skip
        final = os.path.join(work, "cleaned.mp4")
        written = join_segments(segments, (count + seg - 1) // seg, info, path, work, final,
                                lambda n: joining.append(rss_mib()))  # fmt: skip
        size = os.path.getsize(final)
    print(json.dumps({"frames": written, "seconds": time.perf_counter() - t,
                      "peak_mib": peak_rss_mib(), "after_imports_mib": after_imports,
                      "cleaning": cleaning, "joining": joining, "output_bytes": size,
                      "stats": cleaner.stats.as_dict()}))  # fmt: skip


def _memory_run(frames: int, width: int) -> dict:
    """Generate a clip and run the job's loop on it in a fresh process; its JSON row."""
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        clip = os.path.join(folder, "clip.mp4")
        make_clip(clip, frames, width)
        done = subprocess.run([sys.executable, __file__, "--memory-child", clip],
                              capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def _steady_slope(row: dict) -> float:
    """MiB per frame once the codecs' buffers are full (the second half, without the last
    frame's flush): a least-squares line (single frames jump by tens of MiB as the allocator
    reuses blocks), the larger of the two phases."""
    frames = row["frames"]
    lo, hi = frames // 2, frames - 1
    x = np.arange(lo, hi)
    return max(float(np.polyfit(x, row[phase][lo:hi], 1)[0]) for phase in ("cleaning", "joining"))


def _memory_table(row: dict) -> None:
    frames = row["frames"]
    marks = sorted({1} | {frames * k // 6 for k in range(1, 7)})
    print("| phase | " + " | ".join(f"after frame {k}" for k in marks) + " |")
    print("|---|" + "---|" * len(marks))
    for name, phase in (("clean + encode segments", "cleaning"), ("join + audio", "joining")):
        values = row[phase]
        print(f"| {name} (MiB) | " + " | ".join(f"{values[k - 1]:.0f}" for k in marks) + " |")
    print(f"\npeak resident memory {row['peak_mib']:.0f} MiB (after imports "
          f"{row['after_imports_mib']:.0f} MiB); {row['seconds']:.0f} s for {frames} frames; "
          f"fills {row['stats']['fresh_fills']} fresh / {row['stats']['reused_fills']} re-used; "
          f"steady-state growth {_steady_slope(row):+.2f} MiB per frame")  # fmt: skip


def memory(frames: int = 48) -> None:
    """Resident memory of the streaming loop on a generated 4K clip, frame by frame, in a
    fresh process (the level the codecs' buffers settle at)."""
    print(f"\n## Memory, 4K: a {frames}-frame 3840x1920 clip at 30 frames/s (tripod, 40° cap, "
          "stereo AAC) in a fresh process running the job's decode → clean → encode → join "
          "loop with the job's defaults\n")  # fmt: skip
    _memory_table(_memory_run(frames, 3840))


def memory_long(frames: int = 240, width: int = 1920) -> None:
    """The same loop on a long clip at a quarter of the pixels: does memory grow per frame?"""
    print(f"\n## Memory, long clip: {frames} frames ({frames / 30:.0f} s) at {width}x{width // 2}"
          ", same loop and defaults\n")  # fmt: skip
    _memory_table(_memory_run(frames, width))


def _nadir_view(image: np.ndarray, lat: float = -80.0) -> np.ndarray:
    return equirect_to_view(image, 0.0, lat, 0.0, 80.0, 340, 340)


def figures(folder: str) -> None:
    """Pictures for docs/img: the fills side by side, the fill with and without rotation, and
    a 30° cap filled with averaged and with copied patches."""
    out = Path(folder)
    image = real(DATA / "spruit_sunrise_1k.hdr", 2048)
    h, w = image.shape[:2]
    exact = polygon_mask(person(), w, h)
    pasted = paste(image, exact)
    panels = [image, pasted]
    for method in ("blend", "patch", "smooth"):
        panels.append(remove(pasted, exact, RemovalOptions(InpaintOptions(method=method))).image)
    path = out / "cameraman_fills.jpg"
    cv2.imwrite(str(path), np.hstack([_nadir_view(p) for p in panels])[:, :, ::-1],
                [cv2.IMWRITE_JPEG_QUALITY, 88])  # fmt: skip
    print(f"wrote {path}: truth | occluded | blend (default) | patch | smooth")
    rows = []
    for label, occluder in [("royal_esplanade", person), ("synthetic-room", tripod)]:
        truth = scene(label)
        exact = polygon_mask(occluder(), truth.shape[1], truth.shape[0])
        pasted = paste(truth, exact)
        panels = [truth, pasted]
        for rotate in (True, False):
            panels.append(remove(pasted, exact, RemovalOptions(rotate=rotate)).image)
        rows.append(np.hstack([_nadir_view(p) for p in panels]))
    path = out / "cameraman_rotation.jpg"
    cv2.imwrite(str(path), np.vstack(rows)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {path}: truth | occluded | ours | ours without rotation")
    rows = []
    for label in ("venice_sunset", "royal_esplanade", "spruit_sunrise"):
        truth = scene(label)
        mask = cap_mask(truth.shape[1], truth.shape[0], LARGE_CAP_DEG)
        panels = [truth]
        for copy in (False, True):
            options = RemovalOptions(InpaintOptions(copy_patches=copy), grow_px=0)
            panels.append(remove(paste(truth, mask), mask, options).image)
        rows.append(np.hstack([_nadir_view(p, -90.0) for p in panels]))
    path = out / "cameraman_large_cap.jpg"
    cv2.imwrite(str(path), np.vstack(rows)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {path}: truth | averaged patches | ours (copied patches), 30° cap")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="three images only")
    parts_names = [
        "quality",
        "large-cap",
        "smooth-fills",
        "round-trip",
        "speed",
        "video",
        "temporal",
        "refinement",
        "memory",
        "memory-long",
    ]
    for part in parts_names:
        parser.add_argument(f"--skip-{part}", action="store_true")
    parser.add_argument("--only", choices=parts_names)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--figures", help="write the pictures of docs/img to this folder and stop")
    parser.add_argument(
        "--memory-frames", type=int, default=48, help="4K clip length for --only memory (30/s)"
    )
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    if args.figures:
        figures(args.figures)
        return
    parts = {
        "quality": lambda: quality(args.quick),
        "large-cap": lambda: large_cap(args.quick),
        "smooth-fills": lambda: smooth_fills(args.quick),
        "round-trip": lambda: round_trip(args.quick),
        "speed": speed,
        "video": video_speed,
        "temporal": temporal,
        "refinement": refinement,
        "memory": lambda: memory(args.memory_frames),
        "memory-long": memory_long,
    }
    for name, run in parts.items():
        skipped = getattr(args, f"skip_{name.replace('-', '_')}")
        if (args.only is None and not skipped) or args.only == name:
            run()


if __name__ == "__main__":
    main()
