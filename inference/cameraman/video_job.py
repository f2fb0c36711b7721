"""The "cameraman_video" job: remove the cameraman from every frame of a 360° video.

Per frame (streamed: one decoded frame in memory at a time):

1. the mask — the nadir cap, or the class polygons of the keyframes interpolated on the
   sphere to the frame's time (:mod:`.temporal`);
2. the frame's crop in one work frame for the whole clip (maps computed once);
3. **temporal consistency**: when the known pixels round the hole changed little since the
   previous frame (mean absolute difference below ``static_threshold``), the previous fill
   is re-used with a smooth border correction; otherwise the frame is inpainted afresh;
4. composite (only mask pixels change) and encode.

Frames are written in segments of ``segment_frames``; a finished segment is stored with a
marker, so a re-run after a killed worker skips finished segments and redoes only the
unfinished one: no frame is duplicated or lost. At the end the segments are joined, the
source's audio copied in, and the result stored as the ``cleaned_video`` asset of the
sequence's first frame. Progress is reported per frame; cancellation is checked between
frames.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace

import cv2
import numpy as np
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from annotations.models import Instance

from ..models import Job
from ..registry import JobContext, JobError, ParamsError, job_kind
from .frame import WorkFrame, composite, crop_hole, extract, make_frame
from .inpaint import InpaintError, correct_border, inpaint
from .job import class_of, load_model, options_from, validate_cameraman_params
from .mask import cap_mask, grow, polygon_mask
from .remove import _from_work, _to_work
from .temporal import Keyframes

VIDEO_DEFAULTS = {"sequence": None, "static_threshold": 4.0, "segment_frames": 48}


def validate_video_params(params: dict) -> dict:
    """The single-panorama params plus the sequence and the temporal settings."""
    own = {k: params[k] for k in VIDEO_DEFAULTS if k in params}
    rest = {k: v for k, v in params.items() if k not in VIDEO_DEFAULTS}
    p = {**validate_cameraman_params(rest), **VIDEO_DEFAULTS, **own}
    if isinstance(p["sequence"], bool) or not isinstance(p["sequence"], int):
        raise ParamsError("'sequence' must be the id of a video sequence")
    value = p["static_threshold"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 255:
        raise ParamsError("static_threshold must be a number in 0..255")
    p["static_threshold"] = float(value)
    value = p["segment_frames"]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
        raise ParamsError("segment_frames must be an integer in 1..10000")
    return p


def _keyframes(sequence, params: dict) -> Keyframes:
    label_class = class_of(params, sequence.project_id)
    times, geometries = [], []
    for frame in sequence.frames.select_related("panorama").order_by("timestamp", "index"):
        found = [
            g
            for g in Instance.objects.filter(
                panorama=frame.panorama, label_class=label_class, is_suggestion=False
            ).values_list("geometry", flat=True)
            if g
        ]
        if found:
            times.append(frame.timestamp)
            geometries.append(found)
    if not times:
        raise JobError(
            f"no frame of sequence {sequence.pk} has polygons of class '{label_class.name}'; "
            "draw them on at least one frame or use the nadir cap"
        )
    return Keyframes(times, geometries)


class _Segments:
    """Finished segments of this job in storage: ``seg_<k>.mp4`` plus ``seg_<k>.json``."""

    def __init__(self, job: Job):
        self.folder = f"jobs/{job.pk}/segments"

    def _name(self, k: int, ext: str) -> str:
        return f"{self.folder}/seg_{k:06d}.{ext}"

    def done(self, k: int) -> bool:
        return default_storage.exists(self._name(k, "json"))

    def store(self, k: int, local_path: str, frames: int) -> None:
        for ext in ("mp4", "json"):  # a half-written earlier attempt: start clean
            if default_storage.exists(self._name(k, ext)):
                default_storage.delete(self._name(k, ext))
        with open(local_path, "rb") as handle:
            default_storage.save(self._name(k, "mp4"), File(handle))
        # the marker goes last: a segment without it is redone
        default_storage.save(self._name(k, "json"), ContentFile(json.dumps({"frames": frames})))

    def fetch(self, k: int, local_path: str) -> None:
        with default_storage.open(self._name(k, "mp4"), "rb") as src, open(local_path, "wb") as out:
            for chunk in iter(lambda: src.read(1024 * 1024), b""):
                out.write(chunk)

    def clear(self, count: int) -> None:
        for k in range(count):
            for ext in ("mp4", "json"):
                if default_storage.exists(self._name(k, ext)):
                    default_storage.delete(self._name(k, ext))


class _Cleaner:
    """Per-frame removal in one work frame, re-using the previous fill where static."""

    def __init__(self, params: dict, info, keyframes: Keyframes | None, model):
        self.params = params
        self.options = options_from(params)
        self.model = model
        self.keyframes = keyframes
        w, h = info.width, info.height
        self.size = (w, h)
        if keyframes is None:
            grown = params["cap_deg"] + params["grow_px"] * 180.0 / h
            self.fixed_mask = cap_mask(w, h, min(grown, 89.0))
            region = self.fixed_mask
        else:
            self.fixed_mask = None
            region = np.zeros((h, w), bool)
            for geometries in keyframes.geometries:
                region |= polygon_mask(geometries, w, h)
        try:
            self.frame: WorkFrame = make_frame(region, self.options.margin_deg + 5.0)
        except ValueError as exc:
            raise JobError(str(exc)) from exc
        self.previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.reused = 0

    def mask_at(self, time: float) -> np.ndarray:
        if self.fixed_mask is not None:
            return self.fixed_mask
        w, h = self.size
        mask = polygon_mask(self.keyframes.at(time), w, h)
        if not mask.any():
            return mask
        return grow(mask, self.frame, self.options.grow_px)

    def clean(self, rgb: np.ndarray, time: float) -> np.ndarray:
        mask = self.mask_at(time)
        if not mask.any():
            self.previous = None
            return rgb
        hole = crop_hole(mask, self.frame)
        crop = _to_work(extract(rgb, self.frame))
        filled = None
        if self.previous is not None and np.array_equal(self.previous[0], hole):
            ring = (cv2.dilate(hole.astype(np.uint8), np.ones((17, 17), np.uint8)) > 0) & ~hole
            change = float(np.abs(crop[ring] - self.previous[1][ring]).mean())
            if change <= self.params["static_threshold"]:
                filled = correct_border(crop, hole, self.previous[2])
                self.reused += 1
        if filled is None:
            options = replace(self.options.inpaint, seed=self.options.inpaint.seed)
            filled = inpaint(crop, hole, options, self.model)
        self.previous = (hole, crop, filled)
        return composite(rgb, _from_work(filled, rgb.dtype), mask, self.frame)


def _sequence(params: dict):
    from sequences.models import Sequence

    sequence = Sequence.objects.filter(pk=params["sequence"]).first()
    if sequence is None:
        raise JobError(f"sequence {params['sequence']} not found (deleted?)")
    if not sequence.video:
        raise JobError(f"sequence {sequence.pk} ({sequence}) is not a video")
    if not sequence.frames.exists():
        raise JobError(f"sequence {sequence.pk} has no frames yet (extraction still running?)")
    return sequence


@job_kind(
    "cameraman_video",
    queue="batch",
    label="Remove cameraman from a video",
    validate=validate_video_params,
    admin_targets=(),
)
def run_cameraman_video(job: Job, ctx: JobContext) -> dict:
    """Cleaned MP4 of a 360° video sequence (original frame rate and audio)."""
    from sequences.jobs import local_copy
    from sequences.video import VideoError, Writer, frames, probe

    params = job.params
    sequence = _sequence(params)
    if sequence.project_id != job.project_id:
        raise JobError(f"sequence {sequence.pk} belongs to another project than the job")
    keyframes = _keyframes(sequence, params) if params["mask"] == "class" else None
    model = load_model(params)
    source = local_copy(sequence.video)
    work = tempfile.mkdtemp(prefix="cameraman-video-")
    segments = _Segments(job)
    seg_len = params["segment_frames"]
    try:
        try:
            info = probe(source)
        except VideoError as exc:
            raise JobError(f"sequence {sequence.pk}: {exc}") from exc
        cleaner = _Cleaner(params, info, keyframes, model)
        total = max(info.frame_count, 1)
        writer, current, count, written = None, -1, 0, 0
        try:
            for frame in frames(source):
                k = frame.index // seg_len
                if segments.done(k):
                    count = frame.index + 1
                    cleaner.previous = None
                    continue
                if k != current:
                    current = k
                    path = os.path.join(work, f"seg_{k:06d}.mp4")
                    writer = Writer(path, info.width, info.height, info.rate, crf=12)
                    written = 0
                try:
                    out = cleaner.clean(frame.rgb, frame.time)
                except (InpaintError, ValueError) as exc:
                    raise JobError(f"frame {frame.index}: {exc}") from exc
                writer.write(out)
                written += 1
                count = frame.index + 1
                if count % seg_len == 0:
                    writer.close()
                    segments.store(k, path, written)
                    writer = None
                ctx.progress(min(count / total, 0.99), f"frame {count}/{info.frame_count}")
            if writer is not None:
                writer.close()
                segments.store(current, path, written)
                writer = None
        except VideoError as exc:
            raise JobError(f"sequence {sequence.pk}: {exc}") from exc
        finally:
            if writer is not None:
                writer.container.close()
        n_segments = (count + seg_len - 1) // seg_len
        ctx.check_cancelled()
        ctx.progress(0.99, "joining segments and audio")
        final = os.path.join(work, "cleaned.mp4")
        out = Writer(final, info.width, info.height, info.rate, audio_from=source)
        try:
            for k in range(n_segments):
                local = os.path.join(work, f"join_{k:06d}.mp4")
                segments.fetch(k, local)
                for frame in frames(local):
                    out.write(frame.rgb)
                os.unlink(local)
        finally:
            out.close()
        with open(final, "rb") as handle:
            data = handle.read()
        first = sequence.frames.order_by("index").first().panorama
        meta = {**params, "frames": out.count, "fps": info.fps, "reused_fills": cleaner.reused}
        asset = ctx.save_asset(first, "cleaned_video", "cleaned.mp4", data, meta)
        segments.clear(n_segments)
        return {
            "sequence": sequence.pk,
            "frames": out.count,
            "asset": asset.pk,
            "reused_fills": cleaner.reused,
            "audio": bool(info.has_audio),
        }
    finally:
        for name in os.listdir(work):
            os.unlink(os.path.join(work, name))
        os.rmdir(work)
        os.unlink(source)
