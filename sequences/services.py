"""Creating sequences: from an uploaded 360° video (checked, stored, frames extracted by a
job) or from panoramas of the project in a given order."""

from __future__ import annotations

import hashlib
import os
import tempfile

from django.conf import settings
from django.core.files import File
from django.db import transaction

from annotations.models import Panorama, Project

from .models import Sequence, SequenceFrame, SequenceSource, SequenceStatus
from .video import VideoError, probe

CHUNK = 1024 * 1024


def max_video_bytes() -> int:
    return int(getattr(settings, "LABEL360_MAX_VIDEO_BYTES", 2 * 1024**3))


def create_from_video(
    project: Project, name: str, upload, sample_fps: float, user=None
) -> Sequence:
    """Check the video from its header, store it and queue frame extraction; VideoError when
    the file is refused (nothing is stored then)."""
    if upload.size is not None and upload.size > max_video_bytes():
        raise VideoError(f"file of {upload.size} bytes exceeds the limit of {max_video_bytes()}")
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(suffix=".video", delete=False) as tmp:
        path = tmp.name
        total = 0
        for chunk in upload.chunks(CHUNK):
            total += len(chunk)
            if total > max_video_bytes():
                os.unlink(path)
                raise VideoError(f"file exceeds the limit of {max_video_bytes()} bytes")
            digest.update(chunk)
            tmp.write(chunk)
    try:
        if total == 0:
            raise VideoError("empty file")
        info = probe(path)
        sequence = Sequence(
            project=project,
            name=name[:300],
            source=SequenceSource.VIDEO,
            status=SequenceStatus.PROCESSING,
            sha256=digest.hexdigest(),
            size_bytes=total,
            fps=info.fps,
            sample_fps=min(sample_fps, info.fps),
            duration=info.duration,
            frame_count=info.frame_count,
            width=info.width,
            height=info.height,
            codec=info.codec,
            has_audio=info.has_audio,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        stored = None
        try:
            with transaction.atomic(), open(path, "rb") as handle:
                extension = os.path.splitext(upload.name or "")[1] or ".mp4"
                sequence.video.save(f"{sequence.sha256}{extension}", File(handle), save=False)
                stored = sequence.video.name
                sequence.save()
        except BaseException:
            if stored:
                sequence.video.storage.delete(stored)
            raise
    finally:
        if os.path.exists(path):
            os.unlink(path)
    transaction.on_commit(lambda: queue_extraction(sequence, user))
    return sequence


def queue_extraction(sequence: Sequence, user=None) -> None:
    from inference.services import DuplicateJob, submit_job

    try:
        submit_job("sequence_frames", user, sequence.project, [], {"sequence": sequence.pk})
    except DuplicateJob:
        pass


def create_from_panoramas(
    project: Project, name: str, panorama_ids: list[int], fps: float, user=None
) -> Sequence:
    """A sequence of existing panoramas of ``project`` in the given order (``fps`` sets the
    timestamps); ValueError names a panorama that is not in the project."""
    found = dict(
        Panorama.objects.filter(project=project, pk__in=panorama_ids).values_list("pk", "pk")
    )
    missing = [pk for pk in panorama_ids if pk not in found]
    if missing:
        raise ValueError(f"panorama {missing[0]} is not in project {project.pk}")
    with transaction.atomic():
        sequence = Sequence.objects.create(
            project=project,
            name=name[:300],
            source=SequenceSource.PANORAMAS,
            status=SequenceStatus.READY,
            fps=fps,
            sample_fps=fps,
            frame_count=len(panorama_ids),
            duration=len(panorama_ids) / fps,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        SequenceFrame.objects.bulk_create(
            SequenceFrame(sequence=sequence, panorama_id=pk, index=k, timestamp=k / fps)
            for k, pk in enumerate(panorama_ids)
        )
    return sequence
