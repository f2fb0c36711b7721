"""360° video: upload → sequence of annotatable frames; removal job over the video with
resumable segments, original frame rate and audio; clear errors for bad files."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference.cameraman.temporal import Keyframes, interpolate_geometry

W, H, FPS, N = 128, 64, 12, 30
BITS = 6


def marked_frame(index: int) -> np.ndarray:
    """A textured frame whose top rows encode ``index`` in big black/white blocks."""
    rng = np.random.default_rng(index // 10)  # the scene changes every 10 frames
    y, x = np.mgrid[0:H, 0:W]
    img = np.stack([x * 2, y * 3, (x + y) % 64 * 3], -1).astype(np.float64)
    img += rng.normal(0, 6, img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for b in range(BITS):
        img[0:10, 8 + b * 18 : 8 + b * 18 + 14] = 255 if (index >> b) & 1 else 0
    return img


def read_mark(rgb: np.ndarray) -> int:
    return sum(1 << b for b in range(BITS) if rgb[2:8, 10 + b * 18 : 20 + b * 18].mean() > 128)


def make_video(path, frames: int = N, width: int = W, height: int = H, audio: bool = True):
    import av

    with av.open(str(path), mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "10"}
        sound = out.add_stream("aac", rate=16000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        samples = 0
        for k in range(frames):
            rgb = (
                marked_frame(k)
                if (width, height) == (W, H)
                else np.zeros((height, width, 3), np.uint8)
            )
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
            if sound is not None:
                n = 16000 // FPS
                tone = (np.sin(np.arange(samples, samples + n) * 0.05) * 0.3).astype(np.float32)
                chunk = av.AudioFrame.from_ndarray(tone[None, :], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 16000, samples
                samples += n
                for packet in sound.encode(chunk):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if sound is not None:
            for packet in sound.encode():
                out.mux(packet)
    return path


def upload_video(client, project, path, sample_fps=4):
    with open(path, "rb") as handle:
        return client.post("/api/sequences/", {"project": project.pk, "name": "walk",
                           "sample_fps": sample_fps, "file": handle}, format="multipart")  # fmt: skip


@pytest.fixture
def manager_client(users):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(users["manager"])
    return client


def extract(sequence_id):
    from inference.models import Job, JobStatus
    from inference.runner import execute

    job = Job.objects.get(kind="sequence_frames", params__sequence=sequence_id)
    assert execute(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error


@pytest.mark.django_db(transaction=True)
def test_video_upload_becomes_an_ordered_sequence_of_panoramas(manager_client, project, tmp_path):
    from sequences.models import Sequence

    path = make_video(tmp_path / "walk.mp4")
    response = upload_video(manager_client, project, path, sample_fps=4)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["fps"] == pytest.approx(FPS) and body["has_audio"] and body["width"] == W
    extract(body["id"])
    sequence = Sequence.objects.get(pk=body["id"])
    assert sequence.status == "ready"
    frames = list(sequence.frames.select_related("panorama"))
    assert [f.index for f in frames] == list(range(len(frames)))
    assert [f.source_frame for f in frames] == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]
    assert all(b.timestamp > a.timestamp for a, b in zip(frames, frames[1:], strict=False))
    assert {f.panorama.project_id for f in frames} == {project.pk}
    assert frames[0].panorama.width == W
    listed = manager_client.get(f"/api/sequences/{body['id']}/frames/").json()
    assert [f["panorama"] for f in listed] == [f.panorama_id for f in frames]


@pytest.mark.django_db
def test_ordered_panoramas_make_a_sequence(manager_client, project):
    from tests.factories import make_panorama

    ids = [make_panorama(project, seed=s).pk for s in (3, 1, 2)]
    response = manager_client.post("/api/sequences/", {"project": project.pk, "name": "tour",
                                   "panoramas": ids, "fps": 2}, format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    frames = manager_client.get(f"/api/sequences/{response.json()['id']}/frames/").json()
    assert [f["panorama"] for f in frames] == ids
    assert [f["timestamp"] for f in frames] == [0.0, 0.5, 1.0]


@pytest.mark.django_db
def test_bad_videos_are_refused_clearly(manager_client, project, tmp_path, monkeypatch):
    from sequences.models import Sequence

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    response = upload_video(manager_client, project, bad)
    assert response.status_code == 400 and "video" in response.json()["file"][0]
    square = make_video(tmp_path / "square.mp4", frames=3, width=64, height=64, audio=False)
    response = upload_video(manager_client, project, square)
    assert response.status_code == 400 and "not 2:1" in response.json()["file"][0]
    import av

    real_codec = av.codec.Codec

    def no_h264(name, mode="r"):
        if name == "h264":
            raise av.codec.codec.UnknownCodecError(name)
        return real_codec(name, mode)

    good = make_video(tmp_path / "good.mp4", frames=3, audio=False)
    monkeypatch.setattr(av.codec, "Codec", no_h264)
    response = upload_video(manager_client, project, good)
    assert response.status_code == 400
    assert "unsupported video codec 'h264'" in response.json()["file"][0]
    assert not Sequence.objects.exists()


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(min_size=1, max_size=2048))
def test_upload_fuzz_random_bytes_are_a_clear_400(data):
    from sequences.services import create_from_video
    from sequences.video import VideoError

    class Upload:
        name, size = "x.mp4", len(data)

        def chunks(self, size):
            yield data

    try:
        create_from_video(None, "x", Upload(), 1.0)
    except VideoError as exc:
        assert str(exc)
    else:  # pragma: no cover - random bytes are never a 2:1 video
        raise AssertionError("random bytes accepted")


def test_keyframe_polygons_move_along_great_circles():
    a = [[[[0.0, -60.0], [10.0, -60.0], [10.0, -50.0]]]]
    b = [[[[20.0, -60.0], [30.0, -60.0], [30.0, -50.0]]]]
    mid = interpolate_geometry(a, b, 0.5)
    assert mid[0][0][0][0] == pytest.approx(10.0, abs=1e-9)  # same latitude: lon halfway
    assert mid[0][0][0][1] < -60.0  # a great circle bulges towards the pole
    keys = Keyframes([1.0, 3.0], [[a], [b]])
    assert keys.at(0.0) == [a] and keys.at(5.0) == [b]
    assert keys.at(2.0) == [mid]
    odd = [[[[0.0, -60.0], [10.0, -60.0], [10.0, -50.0], [0.0, -50.0]]]]
    assert Keyframes([0.0, 1.0], [[odd], [b]]).at(0.4) == [odd]  # different shapes: nearest


class Killed(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_video_job_resumes_after_a_kill_without_duplicate_or_missing_frames(
    manager_client, users, project, tmp_path
):
    import av
    import cv2

    from inference.cameraman.video_job import run_cameraman_video
    from inference.models import DerivedAsset, Job
    from inference.registry import JobContext
    from inference.services import submit_job
    from sequences.models import Sequence
    from sequences.video import frames

    path = make_video(tmp_path / "walk.mp4")
    body = upload_video(manager_client, project, path, sample_fps=2).json()
    extract(body["id"])
    params = {"sequence": body["id"], "cap_deg": 30, "segment_frames": 8}
    job = submit_job("cameraman_video", users["manager"], project, [], params)
    job = Job.objects.get(pk=job.pk)
    seen = []

    class DyingContext(JobContext):
        def progress(self, fraction, message=""):
            seen.append(message)
            if len(seen) == 13:  # mid-way through the second segment
                raise Killed()
            super().progress(fraction, message)

    with pytest.raises(Killed):
        run_cameraman_video(job, DyingContext(job))
    assert not DerivedAsset.objects.filter(kind="cleaned_video").exists()
    messages = []

    class Context(JobContext):
        def progress(self, fraction, message=""):
            messages.append(message)
            super().progress(fraction, message)

    result = run_cameraman_video(job, Context(job))
    # the first segment (8 frames) was finished and is not redone; frames 9.. are
    assert messages[0] == f"frame 9/{N}"
    assert result["frames"] == N and result["audio"]
    asset = DerivedAsset.objects.get(kind="cleaned_video")
    out = tmp_path / "cleaned.mp4"
    with asset.file.open("rb") as handle:
        out.write_bytes(handle.read())
    marks = [read_mark(f.rgb) for f in frames(str(out))]
    assert marks == list(range(N))  # every frame once, in order
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert Fraction(video.average_rate) == FPS
        assert container.streams.audio and container.streams.audio[0].codec_context.name == "aac"
    assert result["reused_fills"] > 0  # static stretches re-use the previous fill
    # the mask used and a before/after of a frame are results too (the admin's job page and
    # the workspace's Before/after show them)
    first = Sequence.objects.get(pk=body["id"]).frames.order_by("index").first().panorama
    mask_asset = DerivedAsset.objects.get(kind="cleaned_video_mask", panorama=first)
    with mask_asset.file.open("rb") as handle:
        mask = cv2.imdecode(np.frombuffer(handle.read(), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert mask.shape == (H, W) and (mask[-1] == 255).all() and (mask[0] == 0).all()
    assert DerivedAsset.objects.filter(kind="cleaned_video_preview", panorama=first).exists()
    assert set(result["pictures"]) == {"cleaned_video_mask", "cleaned_video_preview"}


@pytest.mark.django_db(transaction=True)
def test_video_job_class_mask_needs_polygons_on_some_frame(
    manager_client, users, project, tmp_path
):
    from annotations.models import LabelClass
    from inference.models import Job, JobStatus
    from inference.runner import execute
    from inference.services import submit_job

    path = make_video(tmp_path / "walk.mp4", frames=6, audio=False)
    body = upload_video(manager_client, project, path, sample_fps=2).json()
    extract(body["id"])
    empty = LabelClass.objects.create(project=project, name="cameraman")
    job = submit_job("cameraman_video", users["manager"], project, [],
                     {"sequence": body["id"], "mask": "class", "label_class": empty.pk})  # fmt: skip
    assert execute(job.pk) == JobStatus.FAILED
    assert "has polygons of class 'cameraman'" in Job.objects.get(pk=job.pk).error


def corrupt(path, out):
    """``path`` with a third of its media data overwritten by random bytes (header intact)."""
    data = bytearray(path.read_bytes())
    start, end = data.find(b"mdat"), data.find(b"moov")
    assert 0 < start < end, "the test video has its index after the media data"
    a, n = start + 8 + (end - start) // 3, (end - start) // 3
    data[a : a + n] = np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8).tobytes()
    out.write_bytes(bytes(data))
    return out


@pytest.mark.django_db(transaction=True)
def test_corrupt_video_fails_extraction_and_removal_with_the_frame_number(
    manager_client, users, project, tmp_path
):
    from inference.models import Job, JobStatus
    from inference.runner import execute
    from inference.services import submit_job
    from sequences.models import Sequence

    good = make_video(tmp_path / "good.mp4", audio=False)
    bad = corrupt(good, tmp_path / "bad.mp4")
    response = upload_video(manager_client, project, bad)
    assert response.status_code == 201  # the header is fine: refused only when decoded
    sequence_id = response.json()["id"]
    job = Job.objects.get(kind="sequence_frames", params__sequence=sequence_id)
    assert execute(job.pk) == JobStatus.FAILED
    error = Job.objects.get(pk=job.pk).error
    assert f"sequence {sequence_id}: corrupt video data after frame" in error
    sequence = Sequence.objects.get(pk=sequence_id)
    assert sequence.status == "failed" and "corrupt video data" in sequence.error

    # a video that extracted fine but whose stored file went bad later: the removal fails
    body = upload_video(manager_client, project, good, sample_fps=2).json()
    extract(body["id"])
    stored = Sequence.objects.get(pk=body["id"]).video
    with open(stored.path, "wb") as handle:
        handle.write(bad.read_bytes())
    job = submit_job("cameraman_video", users["manager"], project, [], {"sequence": body["id"]})
    assert execute(job.pk) == JobStatus.FAILED
    assert "corrupt video data after frame" in Job.objects.get(pk=job.pk).error


@pytest.mark.django_db(transaction=True)
def test_unsupported_codec_at_removal_time_is_a_clear_job_error(
    manager_client, users, project, tmp_path, monkeypatch
):
    import av

    from inference.models import DerivedAsset, Job, JobStatus
    from inference.runner import execute
    from inference.services import submit_job

    body = upload_video(manager_client, project, make_video(tmp_path / "w.mp4", frames=6),
                        sample_fps=2).json()  # fmt: skip
    extract(body["id"])
    real_codec = av.codec.Codec

    def no_h264(name, mode="r"):  # a worker whose FFmpeg lacks the decoder
        if name == "h264":
            raise av.codec.codec.UnknownCodecError(name)
        return real_codec(name, mode)

    monkeypatch.setattr(av.codec, "Codec", no_h264)
    job = submit_job("cameraman_video", users["manager"], project, [], {"sequence": body["id"]})
    assert execute(job.pk) == JobStatus.FAILED
    error = Job.objects.get(pk=job.pk).error
    assert error == f"sequence {body['id']}: unsupported video codec 'h264'"
    assert not DerivedAsset.objects.filter(kind="cleaned_video").exists()


@pytest.mark.django_db(transaction=True)
def test_admin_remove_cameraman_on_sequences(manager_client, users, project, tmp_path, client):
    from inference.models import Job
    from tests.factories import make_panorama, make_user

    body = upload_video(manager_client, project, make_video(tmp_path / "w.mp4", frames=6,
                        audio=False), sample_fps=2).json()  # fmt: skip
    extract(body["id"])
    ids = [make_panorama(project, seed=s).pk for s in (11, 12)]
    tour = manager_client.post("/api/sequences/", {"project": project.pk, "name": "tour",
                               "panoramas": ids, "fps": 1}, format="json").json()  # fmt: skip
    client.force_login(make_user("root-seq", staff=True))
    url = "/admin/sequences/sequence/"
    base = {"action": "remove_cameraman", "_selected_action": [str(body["id"]), str(tour["id"])]}
    page = client.post(url, base)
    assert page.status_code == 200 and b"Remove cameraman" in page.content
    assert b"refine_px" in page.content and b"static_threshold" in page.content
    form = {"mask": "cap", "cap_deg": "25", "grow_px": "4", "method": "patch",
            "static_threshold": "4", "refine_px": "12", "segment_frames": "48", "reuse": "on"}  # fmt: skip
    bad = client.post(url, {**base, "apply": "1", **form, "mask": "class"})
    assert (
        b"Pick the class" in bad.content
        and not Job.objects.filter(kind__startswith="cameraman").exists()
    )
    done = client.post(url, {**base, "apply": "1", **form}, follow=True)
    assert b"2 job(s) queued" in done.content
    video_job = Job.objects.get(kind="cameraman_video")
    assert video_job.params["sequence"] == body["id"] and video_job.params["cap_deg"] == 25.0
    assert video_job.params["refine_px"] == 12 and video_job.params["reuse"] is True
    still = Job.objects.get(kind="cameraman")  # ordered panoramas: the single-image job
    assert sorted(p.pk for p in still.panoramas.all()) == sorted(ids)
    assert "sequence" not in still.params
    again = client.post(url, {**base, "apply": "1", **form}, follow=True)
    assert b"0 job(s) queued, 2 already queued or running" in again.content


@pytest.mark.django_db(transaction=True)
def test_video_job_is_cancelled_between_frames(manager_client, users, project, tmp_path):
    from inference.cameraman.video_job import run_cameraman_video
    from inference.models import DerivedAsset, Job
    from inference.registry import JobCancelled, JobContext
    from inference.services import submit_job

    body = upload_video(manager_client, project, make_video(tmp_path / "w.mp4", frames=12,
                        audio=False), sample_fps=2).json()  # fmt: skip
    extract(body["id"])
    job = submit_job("cameraman_video", users["manager"], project, [], {"sequence": body["id"]})
    job = Job.objects.get(pk=job.pk)
    seen = []

    class Cancelling(JobContext):
        def progress(self, fraction, message=""):
            seen.append(message)
            if len(seen) == 5:  # someone presses "cancel" while frame 5 is reported
                Job.objects.filter(pk=job.pk).update(cancel_requested=True)
            super().progress(fraction, message)

    with pytest.raises(JobCancelled):
        run_cameraman_video(job, Cancelling(job))
    assert seen == [f"frame {k}/12" for k in range(1, 6)]  # stopped before frame 6
    assert not DerivedAsset.objects.filter(kind="cleaned_video").exists()
