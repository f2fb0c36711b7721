"""The upload job makes a panorama's preview, thumbnail and tiles; page requests then only serve
files. Before the job has run, a request makes what it needs on demand, once, under a lock."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from PIL import Image

from annotations import derivation_lock, imaging
from annotations.models import Panorama
from inference.models import DerivedAsset, Job, JobStatus
from inference.runner import execute

from ..factories import panorama_bytes

pytestmark = pytest.mark.django_db

# wider than one 4096 tile: a 2 × 1 grid, the last column 512 wide
WIDTH, HEIGHT = 4608, 2304


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def media_files(settings) -> dict[str, int]:
    """Every stored display image (derived/<project>/<sha256>/*) with its mtime (ns); the
    job's thumbnail asset lies elsewhere."""
    root = Path(settings.MEDIA_ROOT) / "derived"
    files = root.glob("*/*/*") if root.exists() else []
    return {str(p): p.stat().st_mtime_ns for p in files if len(p.parent.name) == 64}


def refuse_decoding(monkeypatch) -> None:
    """Any decode of a panorama from now on fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("an image was decoded")

    monkeypatch.setattr(imaging, "load_pixels", refuse)
    monkeypatch.setattr(imaging, "tonemap_to_uint8", refuse)


def upload_one(client, project, seed: int = 1) -> Panorama:
    data = panorama_bytes(WIDTH, HEIGHT, seed=seed)
    response = client.post(
        "/api/panoramas/",
        {"project": project.pk, "files": [SimpleUploadedFile("p.jpg", data, "image/jpeg")]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return Panorama.objects.get(pk=response.json()["created"][0]["id"])


@pytest.fixture
def uploaded(project, users, client_for, django_capture_on_commit_callbacks, monkeypatch):
    """(client, panorama, job) after an upload whose job was queued but has not run."""
    from inference import tasks

    monkeypatch.setattr(tasks.run_job, "apply_async", lambda **kw: None)
    client = client_for(users["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        pano = upload_one(client, project)
    job = Job.objects.get(kind="thumbnail", panoramas=pano)
    return client, pano, job


def test_after_the_job_requests_only_serve_files(uploaded, settings, monkeypatch):
    client, pano, job = uploaded
    assert media_files(settings) == {}  # the upload itself made nothing
    assert execute(job.pk) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.result["tiles"] == 2
    assert DerivedAsset.objects.filter(panorama=pano, kind="thumbnail").exists()
    before = media_files(settings)
    assert len(before) == 4  # preview, thumbnail, two tiles: no full-size display JPEG

    refuse_decoding(monkeypatch)
    detail = client.get(f"/api/panoramas/{pano.pk}/").json()
    assert (detail["tiles"]["cols"], detail["tiles"]["rows"]) == (2, 1)
    preview = client.get(f"/api/panoramas/{pano.pk}/display/?width=2048")
    tiles = [client.get(f"/api/panoramas/{pano.pk}/tiles/{c}/0/") for c in (0, 1)]
    thumb = client.get(f"/api/panoramas/{pano.pk}/thumbnail/")
    assert all(r.status_code == 200 for r in [preview, *tiles, thumb])
    # nothing decoded (refuse_decoding), nothing new or rewritten: the requests only read files;
    # how fast that is, bench/ui_render.py measures (cold open of an 8K upload)
    assert media_files(settings) == before

    preview, *tiles, thumb = [body(r) for r in [preview, *tiles, thumb]]  # read once
    sizes = [Image.open(io.BytesIO(b)).size for b in [preview, *tiles, thumb]]
    assert sizes == [(2048, 1024), (4096, 2304), (512, 2304), (512, 256)]
    # the tiles put back together are the panorama (JPEG error only)
    original = np.asarray(Image.open(io.BytesIO(panorama_bytes(WIDTH, HEIGHT, seed=1))))
    stitched = np.concatenate([np.asarray(Image.open(io.BytesIO(t))) for t in tiles], 1)
    assert stitched.shape == original.shape
    assert np.abs(stitched.astype(int) - original).mean() < 3
    # the preview is the panorama downscaled
    small = np.asarray(Image.fromarray(original).resize((2048, 1024), Image.Resampling.BOX))
    shown = np.asarray(Image.open(io.BytesIO(preview)))
    assert np.abs(shown.astype(int) - small).mean() < 6


def test_job_again_decodes_nothing(uploaded, settings, monkeypatch):
    _, pano, job = uploaded
    assert execute(job.pk) == JobStatus.SUCCEEDED
    before = media_files(settings)
    refuse_decoding(monkeypatch)
    again = imaging.make_display_set(pano)
    assert again.made == () and again.tiles == 2
    assert media_files(settings) == before


def test_before_the_job_a_request_makes_what_it_needs(uploaded, settings, monkeypatch):
    client, pano, job = uploaded
    preview = client.get(f"/api/panoramas/{pano.pk}/display/?width=2048")
    assert preview.status_code == 200
    assert Image.open(io.BytesIO(body(preview))).size == (2048, 1024)
    made_by_request = media_files(settings)
    assert len(made_by_request) == 1
    # the job then makes the rest and leaves the preview alone
    assert execute(job.pk) == JobStatus.SUCCEEDED
    after = media_files(settings)
    assert len(after) == 4
    assert all(after[name] == mtime for name, mtime in made_by_request.items())


def test_concurrent_misses_decode_once(uploaded, settings, monkeypatch):
    """Four requests for the preview and four for tiles at once: one decode each."""
    _, pano, _ = uploaded
    real = imaging.load_pixels
    decodes: list[str] = []

    def slow_load(panorama):
        decodes.append(threading.current_thread().name)
        time.sleep(0.3)  # the others arrive while it is being made
        return real(panorama)

    monkeypatch.setattr(imaging, "load_pixels", slow_load)
    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def fetch(key: str, make) -> None:
        try:
            results[key] = make()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()  # advisory locks are per connection; do not leak it

    def run(makers: dict) -> None:
        threads = [
            threading.Thread(target=fetch, args=item, name=item[0]) for item in makers.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors

    run({f"preview{k}": (lambda: imaging.display_image(pano, 2048)) for k in range(4)})
    assert len(decodes) == 1
    assert sum(results[f"preview{k}"][1] is not None for k in range(4)) == 1  # made once
    assert len({results[f"preview{k}"][0] for k in range(4)}) == 1

    decodes.clear()
    run({f"tile{k}": (lambda k=k: imaging.display_tile(pano, k % 2, 0)) for k in range(4)})
    assert len(decodes) == 1  # one decode made both tiles
    assert results["tile0"] == results["tile2"] and results["tile1"] == results["tile3"]
    names = sorted(Path(n).name for n in media_files(settings))
    assert names == ["display_2048.jpg", "tile_4096_0_0.jpg", "tile_4096_1_0.jpg"]


def test_file_lock_fallback_excludes_writers_and_shares_readers(settings, tmp_path):
    """The lock used without PostgreSQL (SQLite development set-up)."""
    settings.VAR_DIR = tmp_path
    order: list[str] = []
    holding = threading.Event()

    def writer() -> None:
        with derivation_lock._file_lock("x", shared=False):
            holding.set()
            time.sleep(0.2)
            order.append("writer done")

    thread = threading.Thread(target=writer)
    thread.start()
    holding.wait(5)
    with derivation_lock._file_lock("x", shared=True):  # waits for the writer
        order.append("reader")
        with derivation_lock._file_lock("x", shared=True):  # readers share
            order.append("second reader")
    thread.join(5)
    assert order == ["writer done", "reader", "second reader"]


@hyp_settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    col=st.integers(min_value=0, max_value=10**12),
    row=st.integers(min_value=0, max_value=10**12),
    # in-range widths: the derived sizes and the full size (each other size would be a decode)
    width=st.one_of(
        st.sampled_from([2048, 512, WIDTH, 10**9]),
        st.integers(-(10**6), 0),
        st.integers(16385, 10**12),
        st.text(max_size=12),
    ),
)
def test_fuzz_tile_and_preview_requests_after_the_job(uploaded, settings, col, row, width):
    """Any tile address or preview width: 200 from a stored file, 404 or 400; never new files
    beyond the display size asked for, never an error."""
    client, pano, job = uploaded
    if Job.objects.get(pk=job.pk).status != JobStatus.SUCCEEDED:
        execute(job.pk)
    tile = client.get(f"/api/panoramas/{pano.pk}/tiles/{col}/{row}/")
    assert tile.status_code == (200 if (col, row) in {(0, 0), (1, 0)} else 404)
    before = set(media_files(settings))
    preview = client.get(f"/api/panoramas/{pano.pk}/display/", {"width": width})
    assert preview.status_code in (200, 400)
    assert len(set(media_files(settings)) - before) <= (1 if preview.status_code == 200 else 0)
