"""Files the removal writes: the cleaned panorama (lossless), the mask and a before/after preview.

The cleaned panorama is stored losslessly — PNG for 8- and 16-bit images, EXR for radiance —
so the pixels outside the mask stay bit-identical in the file too (a JPEG would re-compress
them).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from label360.exr import write_exr
from label360.sphere.projection import equirect_to_view

PREVIEW_SIZE = 512


def image_bytes(image: NDArray) -> tuple[str, bytes]:
    """(file name, bytes) of a lossless encoding of an RGB(A) panorama."""
    if np.issubdtype(image.dtype, np.floating):
        return "cleaned.exr", write_exr(image)
    pixels = image
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA)
    ok, data = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise ValueError("could not encode the cleaned panorama as PNG")
    return "cleaned.png", data.tobytes()


def mask_png(mask: NDArray) -> bytes:
    """The replaced pixels as a 1-bit-looking PNG (255 = replaced)."""
    ok, data = cv2.imencode(".png", mask.astype(np.uint8) * 255)
    if not ok:
        raise ValueError("could not encode the mask")
    return data.tobytes()


def _display(image: NDArray) -> NDArray:
    from annotations.imaging import tonemap_to_uint8

    return tonemap_to_uint8(image)


def preview_jpeg(before: NDArray, after: NDArray, mask: NDArray, size: int = PREVIEW_SIZE) -> bytes:
    """Side by side: the region seen straight on (a rectilinear view centred on the mask)
    before with the mask outlined, and after."""
    from label360.sphere.vectors import vec_to_lonlat

    from .frame import mask_extent

    centre, radius = mask_extent(mask)
    lon, lat = vec_to_lonlat(centre)
    hfov = float(min(150.0, max(40.0, 2.6 * radius)))
    views = []
    for image in (before, after):
        rgb = _display(image)
        views.append(equirect_to_view(rgb, float(lon), float(lat), 0.0, hfov, size, size))
    outline = equirect_to_view(mask.astype(np.uint8) * 255, float(lon), float(lat), 0.0, hfov,
                               size, size, interpolation="nearest")  # fmt: skip
    contours, _ = cv2.findContours((outline > 0).astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)  # fmt: skip
    marked = views[0].copy()
    cv2.drawContours(marked, contours, -1, (255, 64, 64), 2)
    joined = np.hstack([marked, np.full((size, 8, 3), 255, np.uint8), views[1]])
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(joined, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, 88])  # fmt: skip
    if not ok:
        raise ValueError("could not encode the preview")
    return data.tobytes()
