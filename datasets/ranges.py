"""HTTP range requests (RFC 9110 §14) for export downloads: resumable, bounded.

* ``Range: bytes=first-last`` / ``first-`` / ``-suffix``: 206 with ``Content-Range``; several
  ranges (at most ``MAX_RANGES``, after overlapping and adjacent ones are merged) as
  ``multipart/byteranges``.
* Unsatisfiable (every range starts past the end, an empty suffix), malformed (``last <
  first``, not numbers) or too many ranges: 416 with ``Content-Range: bytes */size``.
* A range unit other than ``bytes`` is ignored (200, the whole file), as is a ``Range`` whose
  ``If-Range`` validator (ETag or date) no longer matches the file.
* Every answer has ``Accept-Ranges: bytes`` and the file's ``ETag``/``Last-Modified`` so a
  client resumes only the same file. The body is streamed in 1 MiB reads from a seek.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import IO

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import (
    content_disposition_header,
    http_date,
    parse_http_date_safe,
    quote_etag,
)

#: Most ranges one request may ask for (after merging); more is refused with 416.
MAX_RANGES = 8
#: Longest Range header read (bytes); longer is refused with 416.
MAX_HEADER = 1024
CHUNK = 1 << 20

_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class Unsatisfiable(ValueError):
    """The Range header cannot be served (answered with 416)."""


def parse_range(header: str, size: int) -> list[tuple[int, int]] | None:
    """Inclusive (first, last) byte ranges of ``header`` for a file of ``size`` bytes, sorted
    and merged; None when the header is not a byte range (then it is ignored)."""
    if len(header) > MAX_HEADER:
        raise Unsatisfiable(f"Range header over {MAX_HEADER} bytes")
    unit, sep, specs = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    parts = specs.split(",")
    if len(parts) > 4 * MAX_RANGES:
        raise Unsatisfiable(f"at most {MAX_RANGES} ranges")
    ranges = []
    for part in parts:
        match = _SPEC.match(part)
        if not match or not (match.group(1) or match.group(2)):
            raise Unsatisfiable(f"malformed range {part.strip()!r}")
        first, last = match.group(1), match.group(2)
        if not first:  # suffix: the last N bytes
            n = int(last)
            if n == 0 or size == 0:
                continue
            ranges.append((max(0, size - n), size - 1))
            continue
        start = int(first)
        end = int(last) if last else size - 1
        if last and end < start:
            raise Unsatisfiable(f"malformed range {part.strip()!r} (last < first)")
        if start >= size:
            continue  # this range is unsatisfiable; others may not be
        ranges.append((start, min(end, size - 1)))
    if not ranges:
        raise Unsatisfiable("no range overlaps the file")
    ranges.sort()
    merged = [ranges[0]]
    for start, end in ranges[1:]:
        if start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    if len(merged) > MAX_RANGES:
        raise Unsatisfiable(f"at most {MAX_RANGES} ranges")
    return merged


def _if_range_matches(value: str, etag: str, modified: datetime | None) -> bool:
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == etag  # strong comparison: a weak validator never matches
    stamp = parse_http_date_safe(value)
    return modified is not None and stamp is not None and stamp == int(modified.timestamp())


def _read(handle: IO[bytes], start: int, end: int) -> Iterator[bytes]:
    handle.seek(start)
    left = end - start + 1
    while left > 0:
        data = handle.read(min(CHUNK, left))
        if not data:
            break
        left -= len(data)
        yield data


def _stream(opener: Callable[[], IO[bytes]], pieces: list) -> Iterator[bytes]:
    """Yield bytes literals and (start, end) file ranges in order; the file is opened lazily
    and always closed."""
    handle = None
    try:
        for piece in pieces:
            if isinstance(piece, bytes):
                yield piece
            else:
                if handle is None:
                    handle = opener()
                yield from _read(handle, *piece)
    finally:
        if handle is not None:
            handle.close()


def ranged_file_response(
    request: HttpRequest,
    opener: Callable[[], IO[bytes]],
    size: int,
    filename: str,
    content_type: str,
    etag: str,
    modified: datetime | None,
) -> HttpResponse:
    """The file, or the ranges of it the request asks for (see the module docstring)."""
    etag = quote_etag(etag)
    header = request.headers.get("Range")
    ranges = None
    if header and request.method in ("GET", "HEAD"):
        if_range = request.headers.get("If-Range")
        if if_range is None or _if_range_matches(if_range, etag, modified):
            try:
                ranges = parse_range(header, size)
            except Unsatisfiable as exc:
                response = HttpResponse(str(exc), status=416, content_type="text/plain")
                response["Content-Range"] = f"bytes */{size}"
                return _validators(response, etag, modified)
    if ranges is None:
        response = FileResponse(opener(), as_attachment=True, filename=filename)
        response["Content-Type"] = content_type
        response["Content-Length"] = str(size)
        return _validators(response, etag, modified)
    if len(ranges) == 1:
        start, end = ranges[0]
        response = StreamingHttpResponse(
            _stream(opener, [(start, end)]), status=206, content_type=content_type
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        boundary = secrets.token_hex(16)
        pieces: list = []
        for start, end in ranges:
            pieces.append(
                (
                    f"--{boundary}\r\nContent-Type: {content_type}\r\n"
                    f"Content-Range: bytes {start}-{end}/{size}\r\n\r\n"
                ).encode()
            )
            pieces.append((start, end))
            pieces.append(b"\r\n")
        pieces.append(f"--{boundary}--\r\n".encode())
        length = sum(len(p) if isinstance(p, bytes) else p[1] - p[0] + 1 for p in pieces)
        response = StreamingHttpResponse(
            _stream(opener, pieces),
            status=206,
            content_type=f"multipart/byteranges; boundary={boundary}",
        )
        response["Content-Length"] = str(length)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return _validators(response, etag, modified)


def _validators(response: HttpResponse, etag: str, modified: datetime | None) -> HttpResponse:
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    if modified is not None:
        response["Last-Modified"] = http_date(modified.timestamp())
    return response
