"""The "cameraman_video" job: remove the cameraman from every frame of a 360° video.

The frames are decoded one at a time (never the whole video in memory) and cleaned in order
by :class:`inference.cameraman.video_clean.VideoCleaner`: mask (cap, or keyframe polygons
interpolated on the sphere and refined from the frame), re-use of the reference fill under
the measured camera rotation where the background is static, composite.

Frames are written in segments of ``segment_frames``; a finished segment is stored with a
marker, so a re-run after a killed worker skips finished segments and redoes only the
unfinished one: no frame is duplicated or lost. At the end the segments are joined, the
source's audio copied in, and the result streamed to storage as the ``cleaned_video`` asset
of the sequence's first frame, with ``cleaned_video_mask`` and ``cleaned_video_preview`` (the
mask and a before/after view of the first frame cleaned). Progress is reported per frame;
cancellation is checked between frames.

The cleaning modules load OpenCV: they are imported where a job runs, so registering the kind
keeps a process light.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from django import forms
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from annotations.models import Instance

from ..models import Job
from ..registry import JobContext, JobError, ParamsError, job_kind
from .job import CameramanParamsForm, class_of, load_model, validate_cameraman_params
from .temporal import Keyframes

if TYPE_CHECKING:
    from .video_clean import VideoCleaner

VIDEO_DEFAULTS = {
    "sequence": None,
    "static_threshold": 4.0,
    "segment_frames": 48,
    "refine_px": 12,
    "reuse": True,
}


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
    for key, hi in (("segment_frames", 10_000), ("refine_px", 64)):
        value = p[key]
        lo = 1 if key == "segment_frames" else 0
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ParamsError(f"{key} must be an integer in {lo}..{hi}")
    if not isinstance(p["reuse"], bool):
        raise ParamsError("reuse must be true or false")
    return p


class VideoParamsForm(CameramanParamsForm):
    """Admin form of "Remove cameraman…" on video sequences (same names as the params)."""

    static_threshold = forms.FloatField(
        initial=4.0,
        min_value=0,
        max_value=255,
        help_text="Re-use the earlier fill (rotated with the camera) while the pixels round "
        "the hole differ from it by at most this many code values on average",
    )
    refine_px = forms.IntegerField(
        initial=12,
        min_value=0,
        max_value=64,
        help_text="Class masks: move the interpolated outline by at most this many pixels "
        "to where the frame's colours say the occluder ends (0: off)",
    )
    segment_frames = forms.IntegerField(
        initial=48, min_value=1, max_value=10_000, help_text="Frames per resumable segment"
    )
    reuse = forms.BooleanField(
        initial=True, required=False, help_text="Re-use fills through time (no flicker)"
    )


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


class StoredSegments:
    """Finished segments of a job in storage: ``seg_<k>.mp4`` plus a ``seg_<k>.json`` marker."""

    def __init__(self, folder: str):
        self.folder = folder

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


def clean_segments(
    source: str,
    info,
    cleaner: VideoCleaner,
    segments,
    seg_len: int,
    work: str,
    progress: Callable[[int], None] = lambda count: None,
    first: Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None = None,
) -> int:
    """Clean the frames of ``source`` into stored segments (finished ones are skipped);
    returns the number of frames. ``progress(count)`` runs after every frame (it may raise
    to stop between frames); ``first(before, after, mask)`` once, for the first frame cleaned
    in this run. One decoded frame is in memory at a time."""
    from sequences.video import Writer, frames

    from .inpaint import InpaintError

    writer, current, count, written, path = None, -1, 0, 0, ""
    try:
        for frame in frames(source):
            k = frame.index // seg_len
            if segments.done(k):
                count = frame.index + 1
                cleaner.reference = None  # the next segment starts from a fresh fill
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
            mask = cleaner.last_mask
            if first is not None and mask is not None and mask.any():
                first(frame.rgb, out, mask)
                first = None
            written += 1
            count = frame.index + 1
            if count % seg_len == 0:
                writer.close()
                segments.store(k, path, written)
                os.unlink(path)
                writer = None
            progress(count)
        if writer is not None:
            writer.close()
            segments.store(current, path, written)
            os.unlink(path)
            writer = None
    finally:
        if writer is not None:
            writer.container.close()
    return count


def join_segments(
    segments,
    n_segments: int,
    info,
    source: str,
    work: str,
    final: str,
    progress: Callable[[int], None] = lambda count: None,
) -> int:
    """Join the stored segments into ``final`` with the source's audio; returns the frames.
    ``progress(count)`` runs after every frame written."""
    from sequences.video import Writer, frames

    out = Writer(final, info.width, info.height, info.rate, audio_from=source)
    try:
        for k in range(n_segments):
            local = os.path.join(work, f"join_{k:06d}.mp4")
            segments.fetch(k, local)
            for frame in frames(local):
                out.write(frame.rgb)
                progress(out.count)
            os.unlink(local)
    finally:
        out.close()
    return out.count


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
    admin_form=VideoParamsForm,
    admin_targets=(),  # the action lives on the Sequence list (sequences/admin.py)
)
def run_cameraman_video(job: Job, ctx: JobContext) -> dict:
    """Cleaned MP4 of a 360° video sequence (original frame rate and audio)."""
    from sequences.jobs import local_copy
    from sequences.video import VideoError, probe

    from .outputs import mask_png, preview_jpeg
    from .video_clean import CleanerError, VideoCleaner

    params = job.params
    sequence = _sequence(params)
    if sequence.project_id != job.project_id:
        raise JobError(f"sequence {sequence.pk} belongs to another project than the job")
    keyframes = _keyframes(sequence, params) if params["mask"] == "class" else None
    model = load_model(params)
    source = local_copy(sequence.video)
    work = tempfile.mkdtemp(prefix="cameraman-video-")
    segments = StoredSegments(f"jobs/{job.pk}/segments")
    seg_len = params["segment_frames"]
    try:
        try:
            info = probe(source)
        except VideoError as exc:
            raise JobError(f"sequence {sequence.pk}: {exc}") from exc
        try:
            cleaner = VideoCleaner(params, info.width, info.height, keyframes, model)
        except CleanerError as exc:
            raise JobError(f"sequence {sequence.pk}: {exc}") from exc
        total = max(info.frame_count, 1)

        def progress(count: int) -> None:
            ctx.progress(min(count / total, 0.99), f"frame {count}/{info.frame_count}")

        pictures: dict[str, bytes] = {}

        def keep_first(before: np.ndarray, after: np.ndarray, mask: np.ndarray) -> None:
            # encoded at once: no 4K frame is held through the run
            pictures["cleaned_video_mask"] = mask_png(mask)
            pictures["cleaned_video_preview"] = preview_jpeg(before, after, mask)

        try:
            count = clean_segments(
                source, info, cleaner, segments, seg_len, work, progress, keep_first
            )
        except VideoError as exc:
            raise JobError(f"sequence {sequence.pk}: {exc}") from exc
        if count == 0:
            raise JobError(f"sequence {sequence.pk}: the video has no decodable frames")
        n_segments = (count + seg_len - 1) // seg_len
        ctx.check_cancelled()
        ctx.progress(0.99, "joining segments and audio")
        final = os.path.join(work, "cleaned.mp4")
        try:
            frames_out = join_segments(segments, n_segments, info, source, work, final)
        except VideoError as exc:
            raise JobError(f"sequence {sequence.pk}: joining the segments: {exc}") from exc
        first = sequence.frames.order_by("index").first().panorama
        stats = cleaner.stats.as_dict()
        meta = {**params, "frames": frames_out, "fps": info.fps, **stats}
        with open(final, "rb") as handle:  # streamed to storage, not read into memory
            asset = ctx.save_asset(first, "cleaned_video", "cleaned.mp4", File(handle), meta)
        # the mask and a before/after of the first frame cleaned in this run (a re-run after a
        # kill: the first frame of the redone segment)
        extra = {
            kind: ctx.save_asset(first, kind, name, pictures[kind], meta).pk
            for kind, name in (
                ("cleaned_video_mask", "mask.png"),
                ("cleaned_video_preview", "before_after.jpg"),
            )
            if kind in pictures
        }
        segments.clear(n_segments)
        return {
            "sequence": sequence.pk,
            "frames": frames_out,
            "asset": asset.pk,
            "pictures": extra,
            "audio": bool(info.has_audio),
            **stats,
        }
    finally:
        for name in os.listdir(work):
            os.unlink(os.path.join(work, name))
        os.rmdir(work)
        os.unlink(source)
