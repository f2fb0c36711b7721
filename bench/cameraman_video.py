"""Benchmark: cameraman removal on 360° video (run by ``bench/cameraman.py``, which has the
single-image parts).

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

    .venv/bin/python bench/cameraman.py --only video|temporal|refinement|memory|memory-long
"""

from __future__ import annotations

import math
import os
import sys
import time

import cv2
import numpy as np
from cameraman_scenes import bare_render, person, tripod
from memory import peak_rss_mib, rss_mib

from inference.cameraman.mask import polygon_mask
from inference.cameraman.remove import RemovalOptions, remove
from label360.sphere.projection import equirect_directions, sample_equirect
from label360.sphere.vectors import rot_x, rot_y, rot_z


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


if __name__ == "__main__" and sys.argv[1:2] == ["--memory-child"]:
    memory_child(sys.argv[2])
