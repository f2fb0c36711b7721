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

Video parts (``video``, ``temporal``, ``refinement``, ``memory``, ``memory-long``):
see :mod:`cameraman_video`.

    .venv/bin/python bench/cameraman.py [--quick] [--skip-<part>] [--only <part>]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np
from cameraman_scenes import DATA, OCCLUDERS, WIDTH, images, paste, person, real, scene, tripod
from cameraman_video import memory, memory_long, refinement, temporal, video_speed
from skimage.restoration import inpaint_biharmonic

from inference.cameraman.frame import WorkFrame, composite, crop_mask, extract, make_frame
from inference.cameraman.harmonic import harmonic_fill
from inference.cameraman.inpaint import InpaintOptions, correct_border, inpaint
from inference.cameraman.mask import cap_mask, grow, polygon_mask
from inference.cameraman.metrics import fill_scores
from inference.cameraman.remove import RemovalOptions, remove
from inference.cameraman.structure import structure_fill
from label360.sphere.projection import equirect_to_view

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


#: Our method's variants, each a whole ``remove()`` run, by their names in the tables.
REMOVALS = {
    "ours-flat": RemovalOptions(rotate=False, grow_px=0),
    "ours-flat-smooth": RemovalOptions(InpaintOptions(method="smooth"), rotate=False, grow_px=0),
    "ours-smooth": RemovalOptions(InpaintOptions(method="smooth"), grow_px=0),
    "ours-patch": RemovalOptions(InpaintOptions(method="patch"), grow_px=0),
    "ours-averaged": RemovalOptions(InpaintOptions(copy_patches=False), grow_px=0),
    "ours": RemovalOptions(grow_px=0),
}

#: Other fills run in our work frame and hole.
WORK_FRAME_FILLS = {"ours-telea": telea_fill, "ours-harmonic": harmonic_only}


def fill_and_score(image: np.ndarray, pasted: np.ndarray, mask: np.ndarray, names: list) -> dict:
    """Each named method fills ``mask`` of ``pasted``: its scores against ``image`` and its
    time."""
    results = {}
    for name in names:
        t = time.perf_counter()
        if name == "telea-equirect":
            out = cv2.inpaint(pasted, mask.astype(np.uint8), 3, cv2.INPAINT_TELEA)
        elif name in WORK_FRAME_FILLS:
            out = in_work_frame(pasted, mask, WORK_FRAME_FILLS[name])
        else:
            out = remove(pasted, mask, REMOVALS[name]).image
        results[name] = (out, time.perf_counter() - t)
    return score_results(image, mask, pasted, results)


def run_methods(image: np.ndarray, occluder: list, names: list) -> dict:
    """The occluder pasted on ``image`` and filled (its mask grown by 3 px) by each method."""
    h, w = image.shape[:2]
    exact = polygon_mask(occluder, w, h)
    mask = grow(exact, make_frame(exact, MARGIN_DEG), 3)
    return fill_and_score(image, paste(image, exact), mask, names)


def score_results(image: np.ndarray, mask: np.ndarray, pasted: np.ndarray, results: dict) -> dict:
    scores = {}
    for name, (out, seconds) in results.items():
        assert np.array_equal(out[~mask], pasted[~mask]), name  # only the mask changed
        scores[name] = {**fill_scores(image, out, mask), "seconds": seconds}
    return scores


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
            scores = run_methods(image, make(), names)
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
        scores = fill_and_score(image, paste(image, mask), mask, names)
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
    options = REMOVALS["ours"]

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
            flat = remove(pasted, mask, REMOVALS["ours-flat"]).image
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
    parser.add_argument("--figures", help="write the pictures of docs/img to this folder and stop")
    parser.add_argument(
        "--memory-frames", type=int, default=48, help="4K clip length for --only memory (30/s)"
    )
    args = parser.parse_args()
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
