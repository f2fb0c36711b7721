"""What the re-exposure module writes: linear EXR, re-exposed previews, the response plot.

* Radiance EXR: float32 RGB, linear, 1.0 = the clipping point of the input's exposure.
* Previews: the radiance as a camera would have recorded it ``ev`` stops brighter or darker
  (multiply by 2**ev, clip at 1, sRGB encode), 8-bit JPEG.
* Response plot: the inverse camera response (code value → linear) next to sRGB and
  gamma 2.2 for reference, drawn with Pillow (no plotting library needed for one chart).
"""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from label360.exr import write_exr

from .response import Response

__all__ = ["exr_bytes", "reexposed", "preview_jpeg", "response_plot_png"]

_SRGB = Response("srgb")


def exr_bytes(radiance: NDArray) -> bytes:
    """ZIP-compressed float32 RGB EXR of linear radiance."""
    return write_exr(np.ascontiguousarray(radiance, dtype=np.float32))


def reexposed(radiance: NDArray, ev: float) -> NDArray[np.uint8]:
    """8-bit sRGB of ``radiance × 2**ev`` clipped at 1 (a camera at that exposure)."""
    x = np.asarray(radiance, np.float32) * np.float32(2.0**ev)
    return np.clip(np.round(_SRGB.forward(x) * 255.0), 0, 255).astype(np.uint8)


def preview_jpeg(radiance: NDArray, ev: float, max_width: int = 2048, quality: int = 90) -> bytes:
    """A JPEG preview of the radiance re-exposed by ``ev`` stops, at most ``max_width`` wide."""
    image = Image.fromarray(reexposed(radiance, ev))
    if image.width > max_width:
        image = image.resize((max_width, max_width // 2), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def response_plot_png(response: Response, size: tuple[int, int] = (480, 360)) -> bytes:
    """The inverse response (code → linear) as a PNG chart, sRGB and gamma 2.2 dashed."""
    width, height = size
    left, right, top, bottom = 56, 16, 30, 44
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    pw, ph = width - left - right, height - top - bottom

    def xy(v: NDArray, lin: NDArray) -> list[tuple[float, float]]:
        return list(zip(left + v * pw, top + (1.0 - lin) * ph, strict=True))

    for k in range(11):  # grid every 0.1
        gx, gy = left + k * pw / 10, top + k * ph / 10
        colour = (200, 200, 200) if k % 5 else (150, 150, 150)
        draw.line([(gx, top), (gx, top + ph)], fill=colour)
        draw.line([(left, gy), (left + pw, gy)], fill=colour)
        if k % 5 == 0:
            draw.text((gx - 8, top + ph + 6), f"{k / 10:.1f}", fill=(0, 0, 0))
            draw.text((left - 30, top + ph - k * ph / 10 - 6), f"{k / 10:.1f}", fill=(0, 0, 0))
    v = np.linspace(0.0, 1.0, 256, dtype=np.float32)
    references = [
        (_SRGB, (120, 160, 220), "sRGB"),
        (Response("gamma", 2.2), (230, 150, 90), "γ 2.2"),
    ]
    for ref, colour, _ in references:
        points = xy(v, ref.inverse(v))
        for i in range(0, len(points) - 1, 4):  # dashed
            draw.line(points[i : i + 3], fill=colour, width=1)
    draw.line(xy(v, response.inverse(v)), fill=(0, 0, 0), width=3)
    draw.rectangle([left, top, left + pw, top + ph], outline=(0, 0, 0))
    draw.text((left, 8), f"inverse camera response: {response.describe()}", fill=(0, 0, 0))
    draw.text((left + pw / 2 - 40, height - 18), "code value (0–1)", fill=(0, 0, 0))
    draw.text((4, top - 20), "linear", fill=(0, 0, 0))
    legend_y = top + 8
    for _, colour, name in references:
        draw.line([(left + 10, legend_y + 6), (left + 34, legend_y + 6)], fill=colour, width=2)
        draw.text((left + 40, legend_y), f"{name} (reference)", fill=(0, 0, 0))
        legend_y += 16
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
