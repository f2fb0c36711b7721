"""Turning stored panoramas into pixels for people: display images and thumbnails.

HDR panoramas are tone-mapped for display (their radiance stays untouched in storage).
Results are cached through the storage API under ``derived/``; :func:`cached_display` and
:func:`cached_tile` do the same for any image (derived assets use them too).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from .imageformats import decode, read_header
from .models import Panorama

THUMBNAIL_WIDTH = 512


def load_pixels(panorama: Panorama) -> np.ndarray:
    """The panorama's decoded pixels (RGB/RGBA; uint8, uint16 or float32 radiance)."""
    with panorama.image.open("rb") as handle:
        data = handle.read()
    return decode(data, read_header(data))


def tonemap_to_uint8(image: np.ndarray) -> np.ndarray:
    """Map any panorama to displayable 8-bit sRGB.

    Radiance (float) uses exposure from the median luminance and Reinhard's global
    operator, then the sRGB curve; 16-bit images are scaled; 8-bit passes through.
    """
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = image[:, :, :3]
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    if image.dtype == np.uint16:
        return (image // 257).astype(np.uint8)
    radiance = np.nan_to_num(image.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    radiance = np.maximum(radiance, 0.0)
    luminance = radiance @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    key = float(np.median(luminance[luminance > 0])) if np.any(luminance > 0) else 1.0
    scaled = radiance * (0.18 / max(key, 1e-6))
    mapped = scaled / (1.0 + scaled)
    srgb = np.where(mapped <= 0.0031308, 12.92 * mapped, 1.055 * np.power(mapped, 1 / 2.4) - 0.055)
    return np.clip(srgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _encode_jpeg(pixels: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def display_image(panorama: Panorama, width: int | None = None) -> tuple[str, bytes | None]:
    """A JPEG of the panorama for the browser at ``width`` (default: full size, capped 8192).

    Returns (storage name, bytes if just created). Cached in storage by sha and width.
    """
    return cached_display(
        f"derived/{panorama.project_id}/{panorama.sha256}",
        lambda: load_pixels(panorama),
        (panorama.width, panorama.height),
        width,
        keep_aspect=False,
    )


def cached_display(
    cache_dir: str,
    load: Callable[[], np.ndarray],
    size: tuple[int, int],
    width: int | None = None,
    keep_aspect: bool = True,
) -> tuple[str, bytes | None]:
    """A display JPEG of any image at ``width`` (capped at its own width and 16384).

    ``load`` decodes the full image only on a cache miss; ``size`` is its (width, height)
    from the header. Panoramas are resized to exactly 2:1 (``keep_aspect=False``, the same
    as their tiles); other images keep their aspect. Returns (storage name, bytes if just
    created); cached under ``cache_dir``.
    """
    full_width, full_height = size
    width = min(width or full_width, full_width, 16384)
    width = max(2, width - width % 2)
    name = f"{cache_dir}/display_{width}.jpg"
    if default_storage.exists(name):
        return name, None
    pixels = tonemap_to_uint8(load())
    height = width // 2 if not keep_aspect else max(1, round(width * full_height / full_width))
    if width != pixels.shape[1]:
        image = Image.fromarray(pixels).resize((width, height), Image.Resampling.LANCZOS)
        pixels = np.asarray(image)
    data = _encode_jpeg(pixels)
    default_storage.save(name, ContentFile(data))
    return name, data


def thumbnail(panorama: Panorama) -> tuple[str, bytes | None]:
    return display_image(panorama, min(THUMBNAIL_WIDTH, panorama.width))


TILE_SIZE = 4096  # WebGL guarantees far less, but every desktop GPU of the last decade has 4096+


def tile_grid(panorama: Panorama, tile_size: int = TILE_SIZE) -> tuple[int, int]:
    """Columns and rows of display tiles covering the full-resolution panorama."""
    return -(-panorama.width // tile_size), -(-panorama.height // tile_size)


def display_tile(panorama: Panorama, col: int, row: int, tile_size: int = TILE_SIZE) -> bytes:
    """One full-resolution JPEG tile of the display image (cached in storage)."""
    return cached_tile(
        f"derived/{panorama.project_id}/{panorama.sha256}",
        lambda: load_pixels(panorama),
        (panorama.width, panorama.height),
        col,
        row,
        tile_size,
    )


def cached_tile(
    cache_dir: str,
    load: Callable[[], np.ndarray],
    size: tuple[int, int],
    col: int,
    row: int,
    tile_size: int = TILE_SIZE,
) -> bytes:
    """One tile of the full-size display JPEG of an image of ``size`` (cached under
    ``cache_dir``, next to that display JPEG); IndexError outside the grid."""
    cols, rows = -(-size[0] // tile_size), -(-size[1] // tile_size)
    if not (0 <= col < cols and 0 <= row < rows):
        raise IndexError(f"tile {col},{row} outside the {cols}×{rows} grid")
    name = f"{cache_dir}/tile_{tile_size}_{col}_{row}.jpg"
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as handle:
            return handle.read()
    full_name, data = cached_display(cache_dir, load, size, size[0] - size[0] % 2, False)
    if data is None:
        with default_storage.open(full_name, "rb") as handle:
            data = handle.read()
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    y0, x0 = row * tile_size, col * tile_size
    tile = _encode_jpeg(np.ascontiguousarray(pixels[y0 : y0 + tile_size, x0 : x0 + tile_size]))
    default_storage.save(name, ContentFile(tile))
    return tile
