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

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

import cv2  # noqa: E402
from PIL import Image, UnidentifiedImageError  # noqa: E402

from label360.exr import read_exr  # noqa: E402

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


def _exr_header(data: bytes) -> ImageHeader:
    """Parse OpenEXR attributes up to dataWindow (box2i) and the channel list."""
    offset = 8
    width = height = None
    channels = 0
    limit = min(len(data), 1 << 20)
    while offset < limit:
        if data[offset] == 0:
            break
        name_end = data.index(b"\x00", offset)
        type_end = data.index(b"\x00", name_end + 1)
        name = data[offset:name_end]
        attr_type = data[name_end + 1 : type_end]
        (size,) = struct.unpack_from("<i", data, type_end + 1)
        value_start = type_end + 5
        value = data[value_start : value_start + size]
        if name == b"dataWindow" and attr_type == b"box2i":
            x0, y0, x1, y1 = struct.unpack("<4i", value)
            width, height = x1 - x0 + 1, y1 - y0 + 1
        elif name == b"channels" and attr_type == b"chlist":
            channels = _count_exr_channels(value)
        offset = value_start + size
    if width is None or height is None or width <= 0 or height <= 0:
        raise ImageFormatError("corrupt OpenEXR header (no dataWindow)")
    return ImageHeader("exr", width, height, max(1, min(channels, 4)), True)


def _count_exr_channels(chlist: bytes) -> int:
    # chlist: repeated (name NUL, int32 type, uint8 pLinear, 3 reserved, int32 xs, int32 ys), NUL.
    count, offset = 0, 0
    while offset < len(chlist) and chlist[offset] != 0:
        offset = chlist.index(b"\x00", offset) + 1 + 16
        count += 1
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
