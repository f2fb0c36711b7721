"""Reading panorama image headers without decoding pixels, and decoding them safely.

Dimensions are read from the file header first, so an absurd size (a decompression
bomb) is refused before any pixel memory is allocated. Supported: JPEG, PNG, TIFF
(through Pillow's lazy header parsing), Radiance HDR and OpenEXR (parsed here).
"""

from __future__ import annotations

import io
import os
import re
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from label360.exr import read_exr

# OpenCV (imported only where a Radiance file is decoded, so that importing this module
# stays light) reads this on first use; set it before any code can import cv2.
os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

# Sizes are checked against our own configurable limit from the header, before decoding.
Image.MAX_IMAGE_PIXELS = None


class ImageFormatError(ValueError):
    """The file is not a readable panorama image; the message says why."""


@dataclass(frozen=True)
class ImageHeader:
    format: str  # jpeg, png, tiff, hdr, exr
    width: int
    height: int
    channels: int
    is_hdr: bool


PIL_FORMATS = {"JPEG": "jpeg", "PNG": "png", "TIFF": "tiff", "MPO": "jpeg"}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "tiff": "tif", "hdr": "hdr", "exr": "exr"}


def read_header(data: bytes) -> ImageHeader:
    """Identify the format and read width/height from the header only."""
    if data.startswith(b"#?RADIANCE") or data.startswith(b"#?RGBE"):
        return _radiance_header(data)
    if data.startswith(b"\x76\x2f\x31\x01"):
        return _exr_header(data)
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = PIL_FORMATS.get(image.format or "")
            if fmt is None:
                raise ImageFormatError(
                    f"unsupported image format {image.format}; use JPEG, PNG, TIFF, HDR or EXR"
                )
            channels = len(image.getbands())
            high_bit = image.mode in {"I;16", "I;16B", "I", "F", "RGB;16", "I;16L"}
            return ImageHeader(fmt, image.width, image.height, channels, high_bit)
    except UnidentifiedImageError as exc:
        raise ImageFormatError("not an image (unrecognised file contents)") from exc
    except Image.DecompressionBombError as exc:
        raise ImageFormatError(f"image too large: {exc}") from exc
    except (OSError, SyntaxError, struct.error) as exc:
        raise ImageFormatError(f"corrupt image header: {exc}") from exc


_RADIANCE_SIZE = re.compile(rb"^([-+])([YX])\s+(\d+)\s+([-+])([YX])\s+(\d+)\s*$")


def _radiance_header(data: bytes) -> ImageHeader:
    head = data[:65536]
    end = head.find(b"\n\n")
    if end < 0:
        raise ImageFormatError("corrupt Radiance HDR header (no end of header)")
    size_line_end = head.find(b"\n", end + 2)
    if size_line_end < 0:
        raise ImageFormatError("corrupt Radiance HDR header (no resolution line)")
    match = _RADIANCE_SIZE.match(head[end + 2 : size_line_end].strip())
    if not match:
        raise ImageFormatError("corrupt Radiance HDR header (bad resolution line)")
    first_axis, first_len, second_len = match.group(2), int(match.group(3)), int(match.group(6))
    height, width = (first_len, second_len) if first_axis == b"Y" else (second_len, first_len)
    return ImageHeader("hdr", width, height, 3, True)


# OpenEXR header limits. The whole header of a real file is a few hundred bytes; names are at
# most 255 bytes (31 without the long-names flag, which we do not need to distinguish).
_EXR_MAX_HEADER_BYTES = 1 << 20
_EXR_MAX_NAME_BYTES = 255
_EXR_MAX_ATTRIBUTES = 1024
_EXR_CHANNEL_FIELDS = 16  # int32 pixel type, uint8 pLinear, 3 reserved, int32 xSampling, ySampling


def _exr_error(reason: str) -> ImageFormatError:
    return ImageFormatError(f"corrupt OpenEXR header ({reason})")


def _exr_string(data: bytes, offset: int, what: str) -> tuple[bytes, int]:
    """A NUL-terminated, non-empty name at ``offset``; returns it and the offset after the NUL."""
    end = data.find(b"\x00", offset, offset + _EXR_MAX_NAME_BYTES + 1)
    if end < 0:
        if len(data) <= offset + _EXR_MAX_NAME_BYTES:
            raise _exr_error(f"truncated {what}")
        raise _exr_error(f"{what} longer than {_EXR_MAX_NAME_BYTES} bytes")
    if end == offset:
        raise _exr_error(f"empty {what}")
    return data[offset:end], end + 1


def _exr_header(data: bytes) -> ImageHeader:
    """Parse the OpenEXR attribute list for dataWindow (box2i) and the channel list.

    Every step either moves ``offset`` forward or raises :class:`ImageFormatError`: sizes are
    checked against the bytes that are left before they are used, so a negative, huge or
    truncated attribute can neither loop nor read past the header.
    """
    if len(data) < 8:
        raise _exr_error("truncated version field")
    if data[4] != 2:
        raise ImageFormatError(f"unsupported OpenEXR version {data[4]}")
    head = data[:_EXR_MAX_HEADER_BYTES]
    offset = 8
    window: tuple[int, int] | None = None
    channels: int | None = None
    for _ in range(_EXR_MAX_ATTRIBUTES):
        if offset >= len(head):
            if len(head) < len(data):
                raise _exr_error(f"header longer than {_EXR_MAX_HEADER_BYTES} bytes")
            raise _exr_error("truncated before the end of the header")
        if head[offset] == 0:  # the empty name that ends the header
            break
        name, offset = _exr_string(head, offset, "attribute name")
        attr_type, offset = _exr_string(head, offset, f"type of attribute {name!r}")
        if offset + 4 > len(head):
            raise _exr_error(f"truncated size of attribute {name!r}")
        (size,) = struct.unpack_from("<i", head, offset)
        offset += 4
        if size < 0 or size > len(head) - offset:
            raise _exr_error(
                f"attribute {name!r} claims {size} bytes; {len(head) - offset} are left"
            )
        value = head[offset : offset + size]
        offset += size
        if name == b"dataWindow":
            window = _exr_box2i(attr_type, value)
        elif name == b"channels":
            if attr_type != b"chlist":
                raise _exr_error(f"channels has type {attr_type!r}, not 'chlist'")
            channels = _count_exr_channels(value)
    else:
        raise _exr_error(f"more than {_EXR_MAX_ATTRIBUTES} attributes")
    if window is None:
        raise _exr_error("no dataWindow")
    if channels is None:
        raise _exr_error("no channel list")
    width, height = window
    return ImageHeader("exr", width, height, min(channels, 4), True)


def _exr_box2i(attr_type: bytes, value: bytes) -> tuple[int, int]:
    """(width, height) of a dataWindow box2i (xMin, yMin, xMax, yMax), inclusive bounds."""
    if attr_type != b"box2i" or len(value) != 16:
        raise _exr_error(f"dataWindow is {attr_type!r} of {len(value)} bytes, not a 16-byte box2i")
    x0, y0, x1, y1 = struct.unpack("<4i", value)
    width, height = x1 - x0 + 1, y1 - y0 + 1
    if width <= 0 or height <= 0:
        raise _exr_error(f"empty dataWindow ({x0}, {y0}) to ({x1}, {y1})")
    return width, height


def _count_exr_channels(chlist: bytes) -> int:
    """Number of channels in a chlist value: repeated (name NUL, 16 bytes of fields), then NUL.

    Each entry advances by at least 18 bytes or raises, so the loop ends within the value.
    """
    count, offset = 0, 0
    while True:
        if offset >= len(chlist):
            raise _exr_error("channel list without its terminating NUL")
        if chlist[offset] == 0:
            if offset != len(chlist) - 1:
                raise _exr_error("bytes after the end of the channel list")
            break
        _, offset = _exr_string(chlist, offset, "channel name")
        if offset + _EXR_CHANNEL_FIELDS > len(chlist):
            raise _exr_error("truncated channel entry")
        (pixel_type,) = struct.unpack_from("<i", chlist, offset)
        if pixel_type not in (0, 1, 2):  # UINT, HALF, FLOAT
            raise _exr_error(f"channel pixel type {pixel_type} is not UINT, HALF or FLOAT")
        offset += _EXR_CHANNEL_FIELDS
        count += 1
    if count == 0:
        raise _exr_error("empty channel list")
    return count


def decode(data: bytes, header: ImageHeader) -> np.ndarray:
    """Decode the whole image (after the header passed the size checks).

    JPEG/PNG/TIFF go through Pillow, which reports truncated files; HDR/EXR through
    OpenCV/OpenEXR. Returns an RGB(A) array (uint8, uint16 or float32).
    """
    if header.format == "exr":
        try:
            return read_exr(data)
        except ValueError as exc:
            raise ImageFormatError(str(exc)) from exc
    if header.format == "hdr":
        import cv2

        array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if array is None:
            raise ImageFormatError(f"corrupt or truncated {header.format.upper()} file")
        if array.ndim == 3 and array.shape[2] >= 3:
            array = cv2.cvtColor(
                array, cv2.COLOR_BGRA2RGBA if array.shape[2] == 4 else cv2.COLOR_BGR2RGB
            )
        if header.format == "hdr" and _radiance_is_truncated(data, array):
            raise ImageFormatError("truncated HDR file")
        return array.astype(np.float32, copy=False)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.mode in {"P", "CMYK", "YCbCr", "LA", "PA", "1"}:
                image = image.convert("RGBA" if "A" in image.mode else "RGB")
            return np.asarray(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageFormatError(f"corrupt or truncated {header.format.upper()} file: {exc}") from exc


def _radiance_is_truncated(data: bytes, array: np.ndarray) -> bool:
    # OpenCV fills missing scanlines with zeros instead of failing; a file whose last
    # rows are all zero and whose pixel payload is implausibly small was cut short.
    payload = len(data) - data.find(b"\n", data.find(b"\n\n") + 2) - 1
    rows = array.shape[0]
    return payload < rows * 4 and not np.any(array[-1])


def image_extension(header: ImageHeader) -> str:
    return EXTENSIONS[header.format]
