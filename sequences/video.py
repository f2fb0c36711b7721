"""Reading and writing 360° video with PyAV (FFmpeg's libraries, bundled in its wheel).

Everything streams: frames are decoded one at a time and encoded one at a time, so memory
does not grow with the length of the clip. Bad input gets a :class:`VideoError` with a
clear reason, found from the container header before any frame is decoded where possible
(not a video, no video stream, an unsupported codec, not 2:1, too large, too long).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from django.conf import settings

#: threads of the decoder and the encoder (each thread holds frames in flight)
DECODE_THREADS = 2
ENCODE_THREADS = 4


class VideoError(ValueError):
    """The file is not a usable 360° video; the message says why."""


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    rate: Fraction  # exact frame rate for the encoder
    duration: float  # seconds
    frame_count: int  # estimated from duration x fps when the container has no count
    codec: str
    has_audio: bool
    container: str


def _limit(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def _open(path: str):
    import av

    try:
        return av.open(path, metadata_errors="ignore")
    except av.error.InvalidDataError as exc:
        raise VideoError("not a video (unrecognised or corrupt container)") from exc
    except av.FFmpegError as exc:
        raise VideoError(f"could not open the video: {exc}") from exc


def probe(path: str) -> VideoInfo:
    """Read the container header and check it against the limits; raises VideoError."""
    import av

    with _open(path) as container:
        if not container.streams.video:
            raise VideoError("the file has no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        name = ctx.name if ctx is not None else ""
        try:
            av.codec.Codec(name, "r")
        except Exception as exc:
            raise VideoError(f"unsupported video codec {name or 'unknown'!r}") from exc
        width, height = int(ctx.width or 0), int(ctx.height or 0)
        if width <= 0 or height <= 0:
            raise VideoError("the video stream has no frame size (corrupt header?)")
        max_w = int(_limit("LABEL360_MAX_PANORAMA_WIDTH", 16384))
        max_h = int(_limit("LABEL360_MAX_PANORAMA_HEIGHT", 8192))
        if width > max_w or height > max_h:
            raise VideoError(f"video of {width}×{height} exceeds the limit of {max_w}×{max_h}")
        if abs(width - 2 * height) > 1:
            raise VideoError(f"not an equirectangular 360° video: {width}×{height} is not 2:1")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or rate <= 0:
            raise VideoError("the video stream has no frame rate")
        fps = float(rate)
        if not 0.1 <= fps <= 240:
            raise VideoError(f"frame rate {fps:.3f} is outside 0.1..240")
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = float(stream.frames) / fps if stream.frames else 0.0
        max_seconds = _limit("LABEL360_MAX_VIDEO_SECONDS", 600)
        if duration > max_seconds:
            raise VideoError(f"video of {duration:.0f} s exceeds the limit of {max_seconds:.0f} s")
        frames = int(stream.frames) if stream.frames else int(math.ceil(duration * fps))
        return VideoInfo(
            width=width,
            height=height,
            fps=fps,
            rate=Fraction(rate),
            duration=duration,
            frame_count=frames,
            codec=name,
            has_audio=bool(container.streams.audio),
            container=container.format.name,
        )


@dataclass(frozen=True)
class Frame:
    index: int  # position in the stream (0, 1, 2, ...)
    time: float  # presentation time, seconds
    rgb: np.ndarray  # (H, W, 3) uint8


def frames(path: str, start: int = 0) -> Iterator[Frame]:
    """Decode the video frames one at a time (from frame ``start`` on: earlier frames are
    decoded and dropped, so the count is exact); raises VideoError on corrupt data."""
    import av

    with _open(path) as container:
        if not container.streams.video:
            raise VideoError("the file has no video stream")
        stream = container.streams.video[0]
        # a fixed number of decoding threads: frame threading holds one frame per thread,
        # so "as many as cores" would tie memory to the machine
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = DECODE_THREADS
        index = 0
        try:
            for frame in container.decode(stream):
                if index >= start:
                    time = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
                    yield Frame(index, time, frame.to_ndarray(format="rgb24"))
                index += 1
        except av.FFmpegError as exc:
            raise VideoError(f"corrupt video data after frame {index}: {exc}") from exc


def sample_indices(info: VideoInfo, sample_fps: float) -> set[int] | None:
    """Which frame indices to keep to sample at ``sample_fps`` (None: every frame)."""
    if sample_fps >= info.fps:
        return None
    step = info.fps / sample_fps
    count = max(1, int(info.frame_count / step + 1e-9))
    return {int(round(k * step)) for k in range(count + 1)}


class Writer:
    """Encode RGB frames to an MP4 (H.264, yuv420p) at ``rate``; with ``audio_from``, the
    audio stream of that file is copied in (packets, not re-encoded) by :meth:`close`."""

    def __init__(
        self,
        path: str,
        width: int,
        height: int,
        rate: Fraction,
        crf: int = 18,
        audio_from: str | None = None,
    ):
        import av

        self.container = av.open(path, mode="w", format="mp4")
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.width = width - width % 2
        self.stream.height = height - height % 2
        self.stream.pix_fmt = "yuv420p"
        # x264 holds (look-ahead + threads) frames in flight: both fixed, so memory does not
        # grow with the clip or with the machine's core count
        self.stream.codec_context.thread_count = ENCODE_THREADS
        self.stream.options = {"crf": str(crf), "preset": "veryfast", "rc-lookahead": "10"}
        self.source = None
        self.audio = None
        if audio_from:
            self.source = _open(audio_from)
            if self.source.streams.audio:
                self.audio = self.container.add_stream_from_template(self.source.streams.audio[0])
        self.count = 0

    def write(self, rgb: np.ndarray) -> None:
        import av

        h, w = self.stream.height, self.stream.width
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w]), format="rgb24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.count += 1

    def close(self) -> None:
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
            if self.audio is not None:
                for packet in self.source.demux(self.source.streams.audio[0]):
                    if packet.dts is None:
                        continue
                    packet.stream = self.audio
                    self.container.mux(packet)
        finally:
            self.container.close()
            if self.source is not None:
                self.source.close()


def count_frames(path: str) -> int:
    """Decoded frame count of a video (for checks)."""
    return sum(1 for _ in frames(path))
