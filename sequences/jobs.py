"""The "sequence_frames" job: decode a sequence's video and add the sampled frames as
panoramas of the project (annotatable like any other), in order, with their times.

Resumable: frames already stored (by index) are skipped, so a re-run after a killed worker
neither duplicates nor loses frames. Identical frames (a still camera) share one panorama.
OpenCV (the JPEG encoder of the frames) is imported where the job runs, so registering the
kind keeps a process light.
"""

from __future__ import annotations

import os
import tempfile

from inference.models import Job
from inference.registry import JobContext, JobError, ParamsError, job_kind

from .models import Sequence, SequenceFrame, SequenceStatus
from .video import VideoError, frames, probe, sample_indices


def validate_params(params: dict) -> dict:
    value = params.get("sequence")
    if set(params) - {"sequence"} or isinstance(value, bool) or not isinstance(value, int):
        raise ParamsError("params must be {'sequence': <sequence id>}")
    return {"sequence": value}


def local_copy(field_file) -> str:
    """A local file with the stored video (the storage may be remote), streamed in chunks."""
    fd, path = tempfile.mkstemp(suffix=".video")
    with os.fdopen(fd, "wb") as out, field_file.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            out.write(chunk)
    return path


@job_kind(
    "sequence_frames",
    queue="batch",
    label="Extract video frames",
    validate=validate_params,
    admin_targets=(),
)
def extract_frames(job: Job, ctx: JobContext) -> dict:
    """Decode the video and store the sampled frames as panoramas of the sequence."""
    import cv2

    from annotations.uploads import UploadRejected, store_panorama

    sequence = Sequence.objects.filter(pk=job.params["sequence"]).first()
    if sequence is None or not sequence.video:
        raise JobError(f"sequence {job.params['sequence']} has no video (deleted?)")
    path = local_copy(sequence.video)
    try:
        try:
            info = probe(path)
        except VideoError as exc:
            raise JobError(f"sequence {sequence.pk}: {exc}") from exc
        keep = sample_indices(info, sequence.sample_fps or info.fps)
        wanted = sorted(keep) if keep is not None else None
        total = len(wanted) if wanted is not None else info.frame_count
        done = set(sequence.frames.values_list("source_frame", flat=True))
        position = len(done)
        try:
            for frame in frames(path):
                if keep is not None and frame.index not in keep:
                    continue
                if frame.index in done:
                    continue
                ctx.check_cancelled()
                ok, data = cv2.imencode(
                    ".jpg", cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 95],
                )  # fmt: skip
                name = f"{sequence.name}_frame{frame.index:06d}.jpg"
                try:
                    panorama = store_panorama(sequence.project, name, data.tobytes(), job.requester)
                except UploadRejected as exc:
                    if exc.existing_id is None:
                        raise JobError(f"frame {frame.index}: {exc.reason}") from exc
                    panorama_id = exc.existing_id
                else:
                    panorama_id = panorama.pk
                index = wanted.index(frame.index) if wanted is not None else frame.index
                SequenceFrame.objects.create(
                    sequence=sequence,
                    panorama_id=panorama_id,
                    index=index,
                    timestamp=frame.time,
                    source_frame=frame.index,
                )
                position += 1
                ctx.progress(position / max(total, 1), f"frame {position}/{total}")
        except VideoError as exc:
            Sequence.objects.filter(pk=sequence.pk).update(
                status=SequenceStatus.FAILED, error=str(exc)
            )
            raise JobError(f"sequence {sequence.pk}: {exc}") from exc
    finally:
        os.unlink(path)
    Sequence.objects.filter(pk=sequence.pk).update(status=SequenceStatus.READY, error="")
    return {"sequence": sequence.pk, "frames": sequence.frames.count()}
