"""Uploads: every accepted format, and every bad input refused with a reason, leaving nothing."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from annotations.models import Panorama
from label360.exr import write_exr

from ..factories import panorama_bytes

DATA = Path(__file__).resolve().parents[2] / "data" / "polyhaven"


def upload(client, project, *files):
    return client.post(
        "/api/panoramas/",
        {"project": project.pk, "files": list(files)},
        format="multipart",
    )


def jpeg(name="a.jpg", **kwargs):
    return SimpleUploadedFile(name, panorama_bytes(**kwargs), "image/jpeg")


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "panoramas"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def png_with_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width×height but carries almost no data (a bomb header)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("PNG", "png"), ("TIFF", "tif")])
def test_accepts_ldr_formats(fmt, ext, project, users, client_for):
    data = panorama_bytes(128, 64, fmt=fmt)
    response = upload(client_for(users["manager"]), project, SimpleUploadedFile(f"p.{ext}", data))
    assert response.status_code == 201, response.json()
    created = response.json()["created"][0]
    assert (created["width"], created["height"]) == (128, 64)
    assert created["file_format"] == {"JPEG": "jpeg", "PNG": "png", "TIFF": "tiff"}[fmt]


def test_accepts_radiance_hdr_and_keeps_it_as_is(project, users, client_for, settings):
    data = (DATA / "venice_sunset_1k.hdr").read_bytes()
    response = upload(client_for(users["manager"]), project, SimpleUploadedFile("v.hdr", data))
    assert response.status_code == 201, response.json()
    panorama = Panorama.objects.get(pk=response.json()["created"][0]["id"])
    assert panorama.is_hdr and (panorama.width, panorama.height) == (1024, 512)
    assert panorama.image.read() == data  # the radiance is stored untouched


def test_accepts_openexr(project, users, client_for):
    radiance = np.random.default_rng(0).random((32, 64, 3), dtype=np.float32) * 4
    response = upload(
        client_for(users["manager"]), project, SimpleUploadedFile("r.exr", write_exr(radiance))
    )
    assert response.status_code == 201, response.json()
    created = response.json()["created"][0]
    assert created["file_format"] == "exr" and created["is_hdr"]
    assert (created["width"], created["height"]) == (64, 32)


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("notes.jpg", b"this is not an image at all", "not an image"),
        ("empty.jpg", b"", "empty"),
        ("square.jpg", panorama_bytes(64, 64), "not 2:1"),
        ("tall.png", panorama_bytes(32, 64, fmt="PNG"), "not 2:1"),
        ("truncated.jpg", panorama_bytes(256, 128)[:-600], "truncated"),
        ("bomb.png", png_with_header(100_000, 50_000), "exceeds the limit"),
        ("bad.hdr", b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 32 +X 64\n" + b"\x01" * 10, "HDR"),
    ],
)
def test_rejects_bad_files_with_reason_and_leaves_nothing(
    name, data, reason, project, users, client_for, settings
):
    before = Panorama.objects.count()
    response = upload(client_for(users["manager"]), project, SimpleUploadedFile(name, data))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors[0]["file"] == name and reason in errors[0]["error"], errors
    assert Panorama.objects.count() == before
    assert stored_files(settings) == []


def test_bomb_header_is_refused_before_any_large_allocation(project, users, client_for):
    data = png_with_header(100_000, 50_000)  # 15 GB of pixels if decoded
    tracemalloc.start()
    response = upload(client_for(users["manager"]), project, SimpleUploadedFile("b.png", data))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 400
    assert peak < 50 * 1024 * 1024


def test_size_limit_is_configurable(project, users, client_for, settings):
    settings.LABEL360_MAX_PANORAMA_WIDTH = 100
    settings.LABEL360_MAX_PANORAMA_HEIGHT = 50
    response = upload(client_for(users["manager"]), project, jpeg(width=128, height=64))
    assert response.status_code == 400
    assert "exceeds the limit of 100×50" in response.json()["errors"][0]["error"]


def test_one_pixel_tolerance_on_aspect_ratio(project, users, client_for):
    response = upload(client_for(users["manager"]), project, jpeg(width=129, height=64))
    assert response.status_code == 201


def test_duplicate_names_the_existing_panorama(project, users, client_for, settings):
    client = client_for(users["manager"])
    first = upload(client, project, jpeg(seed=3)).json()["created"][0]
    response = upload(client, project, jpeg(name="copy.jpg", seed=3))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["existing_id"] == first["id"] and "duplicate" in error["error"]
    assert len(stored_files(settings)) == 1


def test_batch_reports_each_file_on_its_own(project, users, client_for, settings):
    response = upload(
        client_for(users["manager"]),
        project,
        jpeg("good1.jpg", seed=1),
        SimpleUploadedFile("bad.jpg", b"garbage"),
        jpeg("good2.jpg", seed=2),
    )
    assert response.status_code == 201
    body = response.json()
    assert sorted(c["original_name"] for c in body["created"]) == ["good1.jpg", "good2.jpg"]
    assert [e["file"] for e in body["errors"]] == ["bad.jpg"]
    assert len(stored_files(settings)) == 2


def test_gpano_pose_is_read_from_xmp(project, users, client_for):
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'GPano:PoseHeadingDegrees="123.5" GPano:PosePitchDegrees="-2.0" '
        b'GPano:PoseRollDegrees="1.25"/></rdf:RDF></x:xmpmeta>'
    )
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((32, 64, 3), np.uint8)).save(buffer, "JPEG")
    data = buffer.getvalue()
    app1 = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    data = data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]
    response = upload(client_for(users["manager"]), project, SimpleUploadedFile("g.jpg", data))
    created = response.json()["created"][0]
    assert (created["pose_heading"], created["pose_pitch"], created["pose_roll"]) == (
        123.5,
        -2.0,
        1.25,
    )


def test_display_and_thumbnail_of_hdr_are_8bit_jpegs(project, users, client_for):
    client = client_for(users["manager"])
    data = (DATA / "royal_esplanade_1k.hdr").read_bytes()
    pano_id = upload(client, project, SimpleUploadedFile("r.hdr", data)).json()["created"][0]["id"]
    thumb = client.get(f"/api/panoramas/{pano_id}/thumbnail/")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    image = Image.open(
        io.BytesIO(b"".join(thumb.streaming_content) if thumb.streaming else thumb.content)
    )
    assert image.size == (512, 256) and image.mode == "RGB"
    assert 20 < np.asarray(image).mean() < 235  # tone-mapped, neither black nor blown out
    tile = client.get(f"/api/panoramas/{pano_id}/tiles/0/0/")
    assert tile.status_code == 200
    assert client.get(f"/api/panoramas/{pano_id}/tiles/1/0/").status_code == 404
