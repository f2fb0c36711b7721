"""Turning stored panoramas into pixels for people: display images and thumbnails.

HDR panoramas are tone-mapped for display (their radiance stays untouched in storage).
Results are cached through the storage API under ``derived/``; :func:`cached_display` and
:func:`cached_tile` do the same for any image (derived assets use them too). The upload job
makes a panorama's preview, thumbnail and tiles ahead (:func:`make_display_set`); a request
that comes first makes the part it needs on demand, under the same locks.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from . import derivation_lock
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
        _cache_dir(panorama),
        lambda: load_pixels(panorama),
        (panorama.width, panorama.height),
        width,
        keep_aspect=False,
    )


def _cache_dir(panorama: Panorama) -> str:
    return f"derived/{panorama.project_id}/{panorama.sha256}"


def _display_size(size: tuple[int, int], width: int | None, keep_aspect: bool) -> tuple[int, int]:
    """(width, height) of the display JPEG asked for with ``width`` of an image of ``size``."""
    full_width, full_height = size
    width = min(width or full_width, full_width, 16384)
    width = max(2, width - width % 2)
    height = width // 2 if not keep_aspect else max(1, round(width * full_height / full_width))
    return width, height


def _resized(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """``pixels`` at (width, height); untouched when the width already matches (the full-size
    display of an even-width image keeps its own height, as its tiles do)."""
    if width == pixels.shape[1]:
        return pixels
    image = Image.fromarray(pixels).resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(image)


def _present(name: str) -> bool:
    """The file exists and no one is still writing it."""
    with derivation_lock.held(name, shared=True):
        return default_storage.exists(name)


def _save_new(name: str, data: bytes) -> None:
    """Store under exactly ``name`` (callers hold its lock and checked it is missing)."""
    stored = default_storage.save(name, ContentFile(data))
    if stored != name:  # storage renamed it: someone wrote ``name`` without the lock
        default_storage.delete(stored)


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
    created); cached under ``cache_dir``. Concurrent misses make it once (the others wait).
    """
    width, height = _display_size(size, width, keep_aspect)
    name = f"{cache_dir}/display_{width}.jpg"
    if _present(name):
        return name, None
    with derivation_lock.held(name):
        if default_storage.exists(name):  # made while we waited
            return name, None
        data = _encode_jpeg(_resized(tonemap_to_uint8(load()), width, height))
        _save_new(name, data)
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
        _cache_dir(panorama),
        lambda: load_pixels(panorama),
        (panorama.width, panorama.height),
        col,
        row,
        tile_size,
    )


def _tile_name(cache_dir: str, tile_size: int, col: int, row: int) -> str:
    return f"{cache_dir}/tile_{tile_size}_{col}_{row}.jpg"


def _tiles_lock(cache_dir: str, tile_size: int) -> str:
    return f"{cache_dir}/tiles_{tile_size}"


def cached_tile(
    cache_dir: str,
    load: Callable[[], np.ndarray],
    size: tuple[int, int],
    col: int,
    row: int,
    tile_size: int = TILE_SIZE,
) -> bytes:
    """One tile of the full-size display image of an image of ``size`` (cached under
    ``cache_dir``); IndexError outside the grid.

    A miss decodes the image once and makes every missing tile of the grid (the browser asks
    for all of them, and the decode is most of the cost); concurrent misses wait for that.
    """
    cols, rows = -(-size[0] // tile_size), -(-size[1] // tile_size)
    if not (0 <= col < cols and 0 <= row < rows):
        raise IndexError(f"tile {col},{row} outside the {cols}×{rows} grid")
    name = _tile_name(cache_dir, tile_size, col, row)
    lock = _tiles_lock(cache_dir, tile_size)
    with derivation_lock.held(lock, shared=True):
        present = default_storage.exists(name)
    if not present:
        with derivation_lock.held(lock):
            if not default_storage.exists(name):
                _write_tiles(cache_dir, tonemap_to_uint8(load()), size, tile_size)
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def _write_tiles(cache_dir: str, pixels: np.ndarray, size: tuple[int, int], tile_size: int) -> int:
    """Write the missing tiles of the full-size display of 8-bit ``pixels`` (the caller holds
    the tiles' lock); returns how many were written."""
    width, height = _display_size(size, None, keep_aspect=False)
    full = _resized(pixels, width, height)
    cols, rows = -(-size[0] // tile_size), -(-size[1] // tile_size)
    written = 0
    for row in range(rows):
        for col in range(cols):
            name = _tile_name(cache_dir, tile_size, col, row)
            if default_storage.exists(name):
                continue
            y0, x0 = row * tile_size, col * tile_size
            block = np.ascontiguousarray(full[y0 : y0 + tile_size, x0 : x0 + tile_size])
            _save_new(name, _encode_jpeg(block))
            written += 1
    return written


PREVIEW_WIDTH = 2048  # what the workspace shows first (its URL asks for display/?width=2048)


@dataclass(frozen=True)
class DisplaySet:
    """What :func:`make_display_set` left in storage for one panorama."""

    thumbnail: str
    preview: str
    tiles: int  # tiles in the grid (all present afterwards)
    made: tuple[str, ...]  # which of "preview", "thumbnail", "tiles" this call made


def make_display_set(panorama: Panorama) -> DisplaySet:
    """Make the panorama's preview, thumbnail and full-resolution tiles from one decode.

    What the upload job runs, so that opening the workspace only serves files. Each part is
    made under the same lock as the on-demand path of a page request (which then waits for it
    rather than making it again); parts already present are left alone and, when everything
    is present, nothing is decoded. The preview comes first: it is what the first frame shows.
    """
    cache_dir, size = _cache_dir(panorama), (panorama.width, panorama.height)
    preview_w, preview_h = _display_size(size, PREVIEW_WIDTH, keep_aspect=False)
    thumb_w, thumb_h = _display_size(size, min(THUMBNAIL_WIDTH, panorama.width), False)
    preview = f"{cache_dir}/display_{preview_w}.jpg"
    thumb = f"{cache_dir}/display_{thumb_w}.jpg"
    cols, rows = tile_grid(panorama)
    tiles = [_tile_name(cache_dir, TILE_SIZE, c, r) for r in range(rows) for c in range(cols)]
    tiles_lock = _tiles_lock(cache_dir, TILE_SIZE)
    made: list[str] = []
    if _present(preview) and _present(thumb) and all(map(default_storage.exists, tiles)):
        return DisplaySet(thumb, preview, len(tiles), ())
    pixels = tonemap_to_uint8(load_pixels(panorama))
    small = None
    with derivation_lock.held(preview):
        if not default_storage.exists(preview):
            small = _resized(pixels, preview_w, preview_h)
            _save_new(preview, _encode_jpeg(small))
            made.append("preview")
    if thumb != preview:
        with derivation_lock.held(thumb):
            if not default_storage.exists(thumb):
                # from the preview when at hand: a quarter of the full image's resampling work
                source = small if small is not None else pixels
                _save_new(thumb, _encode_jpeg(_resized(source, thumb_w, thumb_h)))
                made.append("thumbnail")
    with derivation_lock.held(tiles_lock):
        if _write_tiles(cache_dir, pixels, size, TILE_SIZE):
            made.append("tiles")
    return DisplaySet(thumb, preview, len(tiles), tuple(made))
