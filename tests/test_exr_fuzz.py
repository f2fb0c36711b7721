"""The OpenEXR header parser on hostile input: every header ends in a parsed header or an
ImageFormatError, quickly, and an upload of such a file answers 400.

The parser walks a list of (name, type, size, value) attributes; a negative or huge size, a
missing NUL or a channel list without its terminator used to loop or escape as a bare
ValueError/struct.error.
"""

from __future__ import annotations

import io
import signal
import struct
import time
from contextlib import contextmanager

import numpy as np
import OpenEXR
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.imageformats import ImageFormatError, ImageHeader, read_header
from label360.exr import write_exr

MAGIC = b"\x76\x2f\x31\x01"
SECONDS_PER_EXAMPLE = 1.0


def _exr(width: int = 8, height: int = 4, channels: int = 3) -> bytes:
    shape = (height, width) if channels == 1 else (height, width, channels)
    return write_exr(np.zeros(shape, np.float32))


def _header_end(data: bytes) -> int:
    """Offset just past the header's terminating NUL (walks a well-formed header)."""
    offset = 8
    while data[offset] != 0:
        offset = data.index(b"\x00", offset) + 1
        offset = data.index(b"\x00", offset) + 1
        (size,) = struct.unpack_from("<i", data, offset)
        offset += 4 + size
    return offset + 1


def _attribute(name: bytes, attr_type: bytes, value: bytes, size: int | None = None) -> bytes:
    claimed = len(value) if size is None else size
    return name + b"\x00" + attr_type + b"\x00" + struct.pack("<i", claimed) + value


def _chlist(*names: bytes) -> bytes:
    entries = b"".join(n + b"\x00" + struct.pack("<iB3xii", 2, 0, 1, 1) for n in names)
    return entries + b"\x00"


WINDOW = _attribute(b"dataWindow", b"box2i", struct.pack("<4i", 0, 0, 7, 3))
CHANNELS = _attribute(b"channels", b"chlist", _chlist(b"B", b"G", b"R"))
VERSION = MAGIC + b"\x02\x00\x00\x00"


@contextmanager
def _time_bound(seconds: float):
    """Fail (instead of hanging the suite) if the body runs longer than ``seconds``."""

    def expire(signum, frame):
        raise TimeoutError(f"header parsing ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _parse(data: bytes) -> ImageHeader | ImageFormatError:
    start = time.perf_counter()
    with _time_bound(SECONDS_PER_EXAMPLE):
        try:
            result: ImageHeader | ImageFormatError = read_header(data)
        except ImageFormatError as exc:
            result = exc
    assert time.perf_counter() - start < SECONDS_PER_EXAMPLE
    if isinstance(result, ImageHeader):
        assert result.format == "exr" and result.width > 0 and result.height > 0
        assert 1 <= result.channels <= 4
    return result


@pytest.mark.parametrize(
    ("channels", "expected"), [(1, 1), (3, 3), (4, 4)], ids=["Y", "RGB", "RGBA"]
)
def test_real_files_parse(channels, expected):
    header = read_header(_exr(16, 8, channels))
    assert (header.format, header.width, header.height, header.channels) == (
        "exr",
        16,
        8,
        expected,
    )


def test_tiled_and_other_compressions_parse():
    pixels = np.zeros((8, 16, 3), np.float32)
    tiles = OpenEXR.TileDescription()
    tiles.xSize = tiles.ySize = 8
    for compression in (OpenEXR.NO_COMPRESSION, OpenEXR.PIZ_COMPRESSION, OpenEXR.RLE_COMPRESSION):
        header = {"compression": compression, "type": OpenEXR.tiledimage, "tiles": tiles}
        buffer = io.BytesIO()
        OpenEXR.File(header, {"RGB": pixels}).write(buffer)
        parsed = read_header(buffer.getvalue())
        assert (parsed.width, parsed.height, parsed.channels) == (16, 8, 3)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (MAGIC + b"\x02", "truncated version field"),
        (MAGIC + b"\x01\x00\x00\x00" + WINDOW + CHANNELS + b"\x00", "unsupported OpenEXR version"),
        (VERSION, "truncated before the end of the header"),
        (VERSION + WINDOW + CHANNELS, "truncated before the end of the header"),
        (VERSION + b"dataWin", "truncated attribute name"),
        (VERSION + b"x" * 300 + b"\x00", "attribute name longer than 255 bytes"),
        (VERSION + b"dataWindow\x00\x00", "empty type of attribute"),
        (VERSION + b"dataWindow\x00box2i\x00\x10\x00", "truncated size"),
        # -10 (the attribute's own length) sent the old walk back to its start: an endless loop
        (VERSION + _attribute(b"a", b"int", b"", size=-10) + b"\x00", "claims -10 bytes"),
        (VERSION + _attribute(b"a", b"int", b"", size=-1) + b"\x00", "claims -1 bytes"),
        (VERSION + _attribute(b"a", b"int", b"1234", size=2**31 - 1), "claims 2147483647 bytes"),
        (VERSION + CHANNELS + b"\x00", "no dataWindow"),
        (VERSION + WINDOW + b"\x00", "no channel list"),
        (
            VERSION + _attribute(b"dataWindow", b"box2i", b"\x00" * 12) + CHANNELS + b"\x00",
            "not a 16-byte box2i",
        ),
        (
            VERSION
            + _attribute(b"dataWindow", b"box2i", struct.pack("<4i", 5, 0, 4, 3))
            + CHANNELS
            + b"\x00",
            "empty dataWindow",
        ),
        (VERSION + WINDOW + _attribute(b"channels", b"int", b"\x00") + b"\x00", "not 'chlist'"),
        (VERSION + WINDOW + _attribute(b"channels", b"chlist", b"\x00") + b"\x00", "empty channel"),
        (
            VERSION + WINDOW + _attribute(b"channels", b"chlist", b"R\x00") + b"\x00",
            "truncated channel entry",
        ),
        (
            VERSION + WINDOW + _attribute(b"channels", b"chlist", _chlist(b"R")[:-1]) + b"\x00",
            "without its terminating NUL",
        ),
        (
            VERSION + WINDOW + _attribute(b"channels", b"chlist", b"R" * 40) + b"\x00",
            "truncated channel name",
        ),
        (
            VERSION
            + WINDOW
            + _attribute(b"channels", b"chlist", b"R\x00" + struct.pack("<iB3xii", 7, 0, 1, 1))
            + b"\x00",
            "pixel type 7",
        ),
        (VERSION + _attribute(b"a", b"int", b"1234") * 1100 + b"\x00", "more than 1024"),
        (VERSION + b"\x01" * (1 << 20), "longer than 255 bytes"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_malformed_headers_give_a_reason(data, reason):
    result = _parse(data)
    assert isinstance(result, ImageFormatError)
    assert reason in str(result)


def test_header_larger_than_the_limit_is_refused():
    huge = _attribute(b"comments", b"string", b"x" * (1 << 20))
    result = _parse(VERSION + WINDOW + CHANNELS + huge + b"\x00")
    assert isinstance(result, ImageFormatError)
    assert "claims" in str(result)


VALID = [_exr(8, 4, 1), _exr(8, 4, 3), _exr(32, 16, 4)]


@st.composite
def mutated_headers(draw) -> bytes:
    """A real EXR with its header mutated: byte flips, int32 overwrites, cuts, insertions."""
    data = bytearray(draw(st.sampled_from(VALID)))
    end = _header_end(bytes(data))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "int32", "cut", "insert", "delete"]))
        at = draw(st.integers(8, max(8, min(end, len(data)) - 1)))
        if kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "int32":
            value = draw(
                st.one_of(
                    st.sampled_from([-1, -(2**31), 2**31 - 1, 0, -4, -17, 1 << 20]),
                    st.integers(-(2**31), 2**31 - 1),
                )
            )
            data[at : at + 4] = struct.pack("<i", value)
        elif kind == "cut":
            del data[at:]
            break
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=40))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 20))]
    return bytes(data)


@settings(
    max_examples=400,
    deadline=None,  # the per-example bound is _time_bound (it also stops a real loop)
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated_headers())
def test_mutated_headers_terminate_with_a_header_or_the_module_error(data):
    _parse(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_after_the_magic_terminate(tail):
    _parse(MAGIC + tail)
    _parse(VERSION + tail)


@settings(max_examples=200, deadline=None)
@given(
    attributes=st.lists(
        st.tuples(
            st.binary(min_size=0, max_size=12),
            st.sampled_from([b"box2i", b"chlist", b"int", b"string", b""]),
            st.binary(max_size=40),
            st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
        ),
        max_size=8,
    ),
    terminate=st.booleans(),
)
def test_generated_attribute_lists_terminate(attributes, terminate):
    body = b"".join(
        name
        + b"\x00"
        + attr_type
        + b"\x00"
        + struct.pack("<i", len(value) if size is None else size)
        + value
        for name, attr_type, value, size in attributes
    )
    _parse(VERSION + body + (b"\x00" if terminate else b""))


@pytest.mark.django_db
def test_upload_of_a_malformed_exr_answers_400(project, users):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(users["manager"])
    bad = (
        VERSION + _attribute(b"dataWindow", b"box2i", b"", size=-21) + b"\x00"
    )  # back to its own start
    response = client.post(
        "/api/panoramas/",
        {"project": project.pk, "files": [SimpleUploadedFile("bad.exr", bad)]},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    assert b"claims -21 bytes" in response.content
