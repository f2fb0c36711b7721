"""Derived images of a panorama: the list by role, display JPEGs, tiles, inline files,
permissions (a foreign project's panorama is 404), the schema, the display cache, and
hostile query parameters (hypothesis)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from inference.models import DerivedAsset, Job, JobStatus
from label360.exr import write_exr
from tests.factories import make_panorama

pytestmark = pytest.mark.django_db


def encode(pixels: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def add_asset(pano, kind: str, filename: str, data: bytes, params=None, job=None, version=1):
    name = default_storage.save(
        f"derived/{pano.project_id}/{pano.pk}/{kind}/x-{filename}", ContentFile(data)
    )
    return DerivedAsset.objects.create(
        panorama=pano,
        kind=kind,
        file=name,
        size_bytes=len(data),
        params=params or {},
        job=job,
        version=version,
    )


def solid(width: int, height: int, rgb) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (height, width, 3)).copy()


@pytest.fixture
def assets(panorama):
    """A cameraman job's outputs plus a stabilised frame, a depth NPY and an HDR result."""
    job = Job.objects.create(kind="cameraman", project=panorama.project, status=JobStatus.SUCCEEDED)
    made = {
        "cleaned": add_asset(
            panorama,
            "cleaned",
            "cleaned.png",
            encode(solid(64, 32, (200, 30, 40)), "PNG"),
            {"mask": "cap", "cap_deg": 30, "timings": {"total": 1.2}, "note": "x" * 500},
            job,
        ),
        "cleaned_preview": add_asset(
            panorama,
            "cleaned_preview",
            "before_after.jpg",
            encode(solid(40, 42, (9, 9, 9)), "JPEG"),
        ),
        "cleaned_mask": add_asset(
            panorama, "cleaned_mask", "mask.png", encode(solid(64, 32, (255, 255, 255)), "PNG")
        ),
        "stabilised": add_asset(
            panorama,
            "stabilised",
            "stabilised.jpg",
            encode(solid(64, 32, (0, 90, 0)), "JPEG"),
            {"rotation": {"angle": 3.5, "matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}},
        ),
        "depth": add_asset(panorama, "depth", "depth.npy", b"\x93NUMPY" + b"\0" * 64),
        "anonymised": add_asset(
            panorama,
            "anonymised",
            "anonymised.exr",
            write_exr(np.full((32, 64, 3), 4.0, np.float32)),
        ),
    }
    # an older version of 'cleaned' left behind is not current
    add_asset(panorama, "cleaned", "old.png", encode(solid(64, 32, (1, 2, 3)), "PNG"), version=0)
    return made


def get_images(client, pano_id):
    return client.get(f"/api/assets/images/?panorama={pano_id}")


def test_images_lists_current_assets_by_role(users, panorama, assets, client_for):
    response = get_images(client_for(users["viewer"]), panorama.pk)
    assert response.status_code == 200, response.content
    by_kind = {item["kind"]: item for item in response.json()}
    assert set(by_kind) == set(assets)  # one per kind: the old 'cleaned' version is not listed
    cleaned = by_kind["cleaned"]
    assert cleaned["id"] == assets["cleaned"].pk and cleaned["role"] == "panorama"
    assert cleaned["label"] == "Cameraman removed" and cleaned["format"] == "png"
    assert cleaned["job"] == assets["cleaned"].job_id and cleaned["job_kind"] == "cameraman"
    assert (cleaned["width"], cleaned["height"]) == (64, 32)
    assert cleaned["tiles"] == {
        "size": 4096,
        "cols": 1,
        "rows": 1,
        "url_template": f"/api/assets/{cleaned['id']}/tiles/{{col}}/{{row}}/",
    }
    assert cleaned["display_url"] == f"/api/assets/{cleaned['id']}/display/"
    assert cleaned["file_url"] == f"/api/assets/{cleaned['id']}/file/?inline=1"
    # the parameters summary keeps scalars, bounds text, drops nested values
    assert cleaned["params"]["mask"] == "cap" and cleaned["params"]["cap_deg"] == 30
    assert len(cleaned["params"]["note"]) == 120 and "timings" not in cleaned["params"]
    preview = by_kind["cleaned_preview"]
    assert preview["role"] == "preview" and preview["label"] == "Cameraman removed — before/after"
    assert preview["width"] is None and preview["tiles"] is None and preview["file_url"]
    assert by_kind["cleaned_mask"]["role"] == "mask"
    stabilised = by_kind["stabilised"]
    assert stabilised["role"] == "rotated" and stabilised["params"]["rotation_deg"] == 3.5
    depth = by_kind["depth"]
    assert depth["role"] == "download" and depth["format"] == "npy"
    assert depth["display_url"] is None and depth["file_url"] is None
    assert depth["download_url"] == f"/api/assets/{assets['depth'].pk}/file/"
    # an HDR result is a whole panorama too (shown tone-mapped), but never inline as a file
    anonymised = by_kind["anonymised"]
    assert anonymised["role"] == "panorama" and anonymised["format"] == "exr"
    assert anonymised["file_url"] is None and anonymised["display_url"]


@pytest.mark.parametrize("role", ["manager", "annotator", "reviewer", "viewer", "admin"])
def test_every_reader_of_the_panorama_may_list(users, panorama, assets, client_for, role):
    assert get_images(client_for(users[role]), panorama.pk).status_code == 200


def test_foreign_project_is_404(users, foreign_project, client_for):
    foreign = make_panorama(foreign_project, seed=5)
    asset = add_asset(foreign, "cleaned", "c.png", encode(solid(64, 32, (1, 1, 1)), "PNG"))
    for user in (users["annotator"], users["outsider"]):
        client = client_for(user)
        assert get_images(client, foreign.pk).status_code == 404
        assert client.get(f"/api/assets/{asset.pk}/display/").status_code == 404
        assert client.get(f"/api/assets/{asset.pk}/tiles/0/0/").status_code == 404
        assert client.get(f"/api/assets/{asset.pk}/file/?inline=1").status_code == 404
    assert get_images(client_for(users["admin"]), foreign.pk).status_code == 200
    assert get_images(client_for(None), foreign.pk).status_code in (401, 403)


def test_missing_or_bad_panorama_parameter_is_400(users, client_for):
    client = client_for(users["viewer"])
    assert client.get("/api/assets/images/").status_code == 400
    assert client.get("/api/assets/images/?panorama=abc").status_code == 400
    assert client.get("/api/assets/images/?panorama=999999").status_code == 404


def test_display_jpegs(users, panorama, assets, client_for):
    client = client_for(users["annotator"])
    response = client.get(f"/api/assets/{assets['cleaned'].pk}/display/?width=32")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    image = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(int)
    assert image.shape == (16, 32, 3)
    assert np.abs(image.mean(axis=(0, 1)) - [200, 30, 40]).max() < 6
    # the second request is served from the cache, same bytes
    again = client.get(f"/api/assets/{assets['cleaned'].pk}/display/?width=32")
    assert again.content == response.content
    # a before/after preview keeps its aspect
    preview = client.get(f"/api/assets/{assets['cleaned_preview'].pk}/display/?width=20")
    assert Image.open(io.BytesIO(preview.content)).size == (20, 21)
    # HDR radiance is tone-mapped to 8 bits
    hdr = client.get(f"/api/assets/{assets['anonymised'].pk}/display/")
    assert hdr.status_code == 200 and Image.open(io.BytesIO(hdr.content)).size == (64, 32)
    # not an image: no display
    assert client.get(f"/api/assets/{assets['depth'].pk}/display/").status_code == 404
    assert client.get(f"/api/assets/{assets['cleaned'].pk}/display/?width=0").status_code == 400


def test_tiles_only_for_whole_panoramas(users, panorama, assets, client_for):
    client = client_for(users["annotator"])
    tile = client.get(f"/api/assets/{assets['cleaned'].pk}/tiles/0/0/")
    assert tile.status_code == 200 and Image.open(io.BytesIO(tile.content)).size == (64, 32)
    assert client.get(f"/api/assets/{assets['cleaned'].pk}/tiles/1/0/").status_code == 404
    assert client.get(f"/api/assets/{assets['cleaned_preview'].pk}/tiles/0/0/").status_code == 404
    assert client.get(f"/api/assets/{assets['depth'].pk}/tiles/0/0/").status_code == 404


def test_inline_file_only_for_browser_images(users, panorama, assets, client_for):
    client = client_for(users["viewer"])
    inline = client.get(f"/api/assets/{assets['cleaned_preview'].pk}/file/?inline=1")
    assert inline.status_code == 200 and inline["Content-Type"] == "image/jpeg"
    assert inline["Content-Disposition"].startswith("inline")
    npy = client.get(f"/api/assets/{assets['depth'].pk}/file/?inline=1")
    assert npy["Content-Disposition"].startswith("attachment")
    plain = client.get(f"/api/assets/{assets['cleaned'].pk}/file/")
    assert plain["Content-Disposition"].startswith("attachment")


def test_unreadable_panorama_asset_says_why(users, panorama, client_for):
    add_asset(panorama, "cleaned", "cleaned.png", b"not a png at all")
    item = get_images(client_for(users["viewer"]), panorama.pk).json()[0]
    assert item["role"] == "panorama" and item["display_url"] is None and item["error"]


def test_oversized_asset_is_refused_from_its_header(users, panorama, client_for, settings):
    asset = add_asset(panorama, "cleaned", "c.png", encode(solid(64, 32, (5, 5, 5)), "PNG"))
    settings.LABEL360_MAX_PANORAMA_WIDTH = 32
    response = client_for(users["viewer"]).get(f"/api/assets/{asset.pk}/display/")
    assert response.status_code == 404 and "at most" in response.json()["detail"]


def test_display_cache_goes_with_its_asset(users, panorama, client_for):
    asset = add_asset(panorama, "cleaned", "c.png", encode(solid(64, 32, (5, 5, 5)), "PNG"))
    client = client_for(users["viewer"])
    assert client.get(f"/api/assets/{asset.pk}/display/?width=16").status_code == 200
    assert client.get(f"/api/assets/{asset.pk}/tiles/0/0/").status_code == 200
    folder = asset.file.name.rsplit("/", 1)[0] + f"/display-{asset.pk}"
    # display 16 and the tile (tiles are cut from the decoded image: no full-size display)
    assert len(default_storage.listdir(folder)[1]) == 2
    asset.delete()
    assert default_storage.listdir(folder)[1] == []


def test_schema_documents_the_endpoints(users, client_for):
    schema = client_for(users["viewer"]).get("/api/schema/?format=json").json()
    images = schema["paths"]["/api/assets/images/"]["get"]
    assert any(p["name"] == "panorama" and p["required"] for p in images["parameters"])
    body = images["responses"]["200"]["content"]["application/json"]["schema"]
    assert body["type"] == "array" and body["items"]["$ref"].endswith("/DerivedImage")
    assert "/api/assets/{id}/display/" in schema["paths"]
    assert "/api/assets/{id}/tiles/{col}/{row}/" in schema["paths"]
    assert "role" in schema["components"]["schemas"]["DerivedImage"]["properties"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    panorama_param=st.text(max_size=40),
    width=st.one_of(st.none(), st.text(max_size=12), st.integers(-(2**70), 2**70).map(str)),
)
def test_hostile_parameters_never_500(users, panorama, assets, client_for, panorama_param, width):
    client = client_for(users["viewer"])
    response = client.get("/api/assets/images/", {"panorama": panorama_param})
    assert response.status_code in (200, 400, 404)
    query = {} if width is None else {"width": width}
    response = client.get(f"/api/assets/{assets['cleaned'].pk}/display/", query)
    assert response.status_code in (200, 400)
