"""OpenEXR reading and writing (float radiance, depth), one place for the whole project.

OpenCV 5 wheels are built without OpenEXR, so EXR goes through the OpenEXR package.
"""

from __future__ import annotations

import io

import numpy as np
import OpenEXR


def read_exr(data: bytes) -> np.ndarray:
    """Decode EXR bytes to float32 (H, W) or (H, W, C) in R, G, B, A order."""
    try:
        channels = OpenEXR.File(io.BytesIO(data)).channels()
    except Exception as exc:  # the library raises plain Exception/RuntimeError on bad files
        raise ValueError(f"corrupt or truncated EXR file: {exc}") from exc
    if "RGBA" in channels:
        pixels = channels["RGBA"].pixels
    elif "RGB" in channels:
        pixels = channels["RGB"].pixels
    else:
        names = [n for n in ("R", "G", "B", "A", "Y", "Z") if n in channels] or sorted(channels)
        planes = [channels[n].pixels for n in names]
        pixels = planes[0] if len(planes) == 1 else np.stack(planes, axis=-1)
    return np.asarray(pixels, dtype=np.float32)


def write_exr(array: np.ndarray) -> bytes:
    """Encode a float array (H, W), (H, W, 3) or (H, W, 4) as ZIP-compressed EXR bytes."""
    array = np.ascontiguousarray(array, dtype=np.float32)
    if array.ndim == 2:
        name = "Y"
    elif array.shape[2] == 3:
        name = "RGB"
    elif array.shape[2] == 4:
        name = "RGBA"
    else:
        raise ValueError(f"cannot write {array.shape[2]} channels as EXR")
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    buffer = io.BytesIO()
    OpenEXR.File(header, {name: array}).write(buffer)
    return buffer.getvalue()
