"""Resumable export downloads: HTTP Range requests (206 + Content-Range, several ranges as
multipart/byteranges, 416 for bad or too many ranges, If-Range), through the API."""

from __future__ import annotations

import email
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasets.models import Export
from datasets.ranges import MAX_RANGES, Unsatisfiable, parse_range
from tests.factories import make_panorama

from .helpers import SEAM, SQUARE, label

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ready(project, users, client_for, settings):
    """(client, download url, the whole file's bytes) of a ready export."""
    settings.LABEL360_EXPORTS_INLINE = True
    pano = make_panorama(project, seed=1, width=128)
    label(pano, [SQUARE, SEAM])
    client = client_for(users["viewer"])
    created = client.post(
        "/api/exports/",
        {"project": project.pk, "format": "coco", "include_images": True},
        format="json",
    )
    assert created.status_code == 200, created.data
    url = created.data["download_url"]
    whole = client.get(url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    body = b"".join(whole.streaming_content)
    assert len(body) == int(whole["Content-Length"]) > 1000
    return client, url, body, whole["ETag"]


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_single_ranges_resume_the_download(ready):
    client, url, body, etag = ready
    size = len(body)
    for header, (first, last) in [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, size - 1)),
        ("bytes=-50", (size - 50, size - 1)),
        (f"bytes=10-{size + 500}", (10, size - 1)),  # past the end: clamped
    ]:
        response = client.get(url, HTTP_RANGE=header)
        assert response.status_code == 206, header
        assert response["Content-Range"] == f"bytes {first}-{last}/{size}"
        assert int(response["Content-Length"]) == last - first + 1
        assert _body(response) == body[first : last + 1]
    # a download cut after 1000 bytes, resumed
    head = body[:1000]
    rest = _body(client.get(url, HTTP_RANGE="bytes=1000-", HTTP_IF_RANGE=etag))
    assert head + rest == body


def test_several_ranges_are_multipart(ready):
    client, url, body, _ = ready
    response = client.get(url, HTTP_RANGE="bytes=0-9, 20-29, 25-39, -5")
    assert response.status_code == 206
    content_type = response["Content-Type"]
    assert content_type.startswith("multipart/byteranges; boundary=")
    raw = _body(response)
    assert len(raw) == int(response["Content-Length"])
    message = email.message_from_bytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    parts = message.get_payload()
    got = []
    for part in parts:
        first, last, total = map(
            int, re.match(r"bytes (\d+)-(\d+)/(\d+)", part["Content-Range"]).groups()
        )
        assert total == len(body)
        data = part.get_payload(decode=True)
        assert data == body[first : last + 1]
        got.append((first, last))
    assert got == [(0, 9), (20, 39), (len(body) - 5, len(body) - 1)]  # overlaps merged


@pytest.mark.parametrize(
    "header",
    [
        "bytes=999999999-",
        "bytes=-0",
        "bytes=50-10",
        "bytes=abc",
        "bytes=",
        "bytes=" + ",".join(f"{k * 10}-{k * 10 + 1}" for k in range(MAX_RANGES + 1)),
        "bytes=" + "0-1," * 400,
    ],
)
def test_bad_or_too_many_ranges_are_416(ready, header):
    client, url, body, _ = ready
    response = client.get(url, HTTP_RANGE=header)
    assert response.status_code == 416, header
    assert response["Content-Range"] == f"bytes */{len(body)}"


def test_other_units_and_stale_if_range_get_the_whole_file(ready):
    client, url, body, etag = ready
    for extra in (
        {"HTTP_RANGE": "items=0-5"},
        {"HTTP_RANGE": "bytes=0-5", "HTTP_IF_RANGE": '"another-file"'},
        {"HTTP_RANGE": "bytes=0-5", "HTTP_IF_RANGE": "Mon, 01 Jan 2001 00:00:00 GMT"},
    ):
        response = client.get(url, **extra)
        assert response.status_code == 200 and _body(response) == body
    same = client.get(url, HTTP_RANGE="bytes=0-5", HTTP_IF_RANGE=etag)
    assert same.status_code == 206 and _body(same) == body[:6]


def test_download_answers_any_accept_header_and_head(ready):
    client, url, body, _ = ready
    response = client.get(url, HTTP_ACCEPT="application/zip", HTTP_RANGE="bytes=0-3")
    assert response.status_code == 206 and _body(response) == body[:4] == b"PK\x03\x04"
    head = client.head(url)
    assert head.status_code == 200 and int(head["Content-Length"]) == len(body)


def test_not_ready_is_409_and_outsiders_404(ready, project, users, client_for):
    client, url, _, _ = ready
    pending = Export.objects.create(project=project, format="coco", digest="x")
    response = client.get(f"/api/exports/{pending.pk}/download/", HTTP_RANGE="bytes=0-1")
    assert response.status_code == 409
    assert client_for(users["outsider"]).get(url, HTTP_RANGE="bytes=0-1").status_code == 404


@settings(max_examples=400, deadline=None)
@given(header=st.text(max_size=80), size=st.integers(0, 10_000))
def test_fuzz_range_header(header, size):
    try:
        ranges = parse_range("bytes=" + header, size)
    except Unsatisfiable:
        return
    assert ranges and len(ranges) <= MAX_RANGES
    for (first, last), following in zip(ranges, ranges[1:] + [None], strict=True):
        assert 0 <= first <= last < size
        if following is not None:
            assert following[0] > last + 1
