"""Removing the cameraman from one panorama: mask → work frame → inpaint → composite.

:func:`remove` is the whole single-image method. Only mask pixels may change: the result is
``image`` with the mask pixels replaced (:func:`inference.cameraman.frame.composite`), so every
other pixel is bit-identical to the input, whatever the method.

``rotate=False`` runs the same inpainting on the equirect rows holding the mask, without the
work frame — kept as the benchmark's "no rotation" baseline.

HDR (float) panoramas are inpainted in ``log1p`` space so patch distances are not dominated
by the brightest pixels; integer images are worked on as float32 of their own values.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from .choices import EXEMPLAR_METHODS
from .frame import WorkFrame, composite, crop_mask, extract, make_frame
from .inpaint import InpaintError, InpaintOptions, ModelInpainter, coarse_levels, inpaint
from .mask import grow

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class RemovalOptions:
    inpaint: InpaintOptions = field(default_factory=InpaintOptions)
    rotate: bool = True
    margin_deg: float = 20.0  # context round the mask in the work frame
    grow_px: int = 4  # mask growth, in source pixels (same angle in every direction)
    detail_deg: float = 2.0  # the blend takes the exemplar's detail finer than this angle
    structure_deg: float = 1.0  # window of the structure tensor that guides the smooth fill

    def inpaint_for(self, width: int) -> InpaintOptions:
        """The inpainting options for a panorama ``width`` pixels round: the detail band and
        the structure window are angles, the same at every resolution."""
        px = width / 360.0
        return replace(
            self.inpaint,
            detail_sigma=self.detail_deg * px,
            structure_sigma=self.structure_deg * px,
        )


def options_from(params: dict) -> RemovalOptions:
    """The options of validated job params (see :mod:`inference.cameraman.job`)."""
    return RemovalOptions(
        inpaint=InpaintOptions(
            method=params["method"],
            patch=params["patch"],
            fine_iterations=params["fine_iterations"],
            seed=params["seed"],
        ),
        margin_deg=params["margin_deg"],
        grow_px=params["grow_px"],
        detail_deg=params["detail_deg"],
    )


@dataclass
class RemovalResult:
    image: NDArray  # same shape and dtype as the input
    mask: NDArray[np.bool_]  # the pixels that were replaced (after growing)
    frame: WorkFrame | None
    timings: dict[str, float]
    info: dict


def _to_work(values: NDArray) -> NDArray[np.float32]:
    if np.issubdtype(values.dtype, np.floating):
        return np.log1p(np.maximum(values.astype(np.float32), 0.0))
    return values.astype(np.float32)


def _from_work(values: NDArray, dtype: np.dtype) -> NDArray:
    if np.issubdtype(dtype, np.floating):
        return np.expm1(values).astype(np.float32)
    return values


def remove(
    image: NDArray,
    mask: NDArray,
    options: RemovalOptions | None = None,
    model: ModelInpainter | None = None,
    progress: Progress | None = None,
) -> RemovalResult:
    """Replace the ``mask`` pixels of the equirect ``image`` (H, W[, C]) with a plausible fill."""
    options = options or RemovalOptions()
    mask = np.asarray(mask, bool)
    if image.shape[:2] != mask.shape:
        raise ValueError(f"mask shape {mask.shape} does not match image {image.shape[:2]}")
    if not mask.any():
        raise InpaintError("the mask is empty: nothing to remove")
    squeeze = image.ndim == 2
    src = image[..., None] if squeeze else image
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if options.rotate:
        result = _remove_rotated(src, mask, options, model, progress, timings)
    else:
        result = _remove_flat(src, mask, options, model, progress, timings)
    timings["total"] = time.perf_counter() - t0
    result.timings = {k: round(v, 3) for k, v in timings.items()}
    if squeeze:
        result.image = result.image[..., 0]
    return result


def _remove_rotated(src, mask, options, model, progress, timings) -> RemovalResult:
    t = time.perf_counter()
    frame = make_frame(mask, options.margin_deg + options.grow_px * 180.0 / mask.shape[0])
    mask = grow(mask, frame, options.grow_px)
    cropped = crop_mask(mask, frame)
    hole = cropped.hole
    crop = extract(src, frame)
    crop = cropped.clean(crop.reshape(crop.shape[0], crop.shape[1], -1), src)
    timings["frame"] = time.perf_counter() - t
    t = time.perf_counter()
    filled = inpaint(_to_work(crop), hole, options.inpaint_for(src.shape[1]), model, progress)
    timings["inpaint"] = time.perf_counter() - t
    t = time.perf_counter()
    out = composite(src, _from_work(filled, src.dtype), mask, frame)
    timings["composite"] = time.perf_counter() - t
    exemplar = options.inpaint.method in EXEMPLAR_METHODS
    info = {
        "frame": frame.as_dict(),
        "hole_pixels": int(hole.sum()),
        "mask_pixels": int(mask.sum()),
        "levels": coarse_levels(hole, options.inpaint) if exemplar else 0,
    }
    return RemovalResult(out, mask, frame, timings, info)


def _remove_flat(src, mask, options, model, progress, timings) -> RemovalResult:
    """The baseline without the work frame: inpaint the equirect rows round the mask."""
    t = time.perf_counter()
    if options.grow_px > 0:
        size = 2 * options.grow_px + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        mask = cv2.dilate(mask.astype(np.uint8), kernel) > 0
    rows = np.nonzero(mask.any(axis=1))[0]
    h = mask.shape[0]
    extra = int(round(options.margin_deg / 180.0 * h))
    r0, r1 = max(0, int(rows.min()) - extra), min(h, int(rows.max()) + 1 + extra)
    crop = _to_work(src[r0:r1])
    filled = inpaint(crop, mask[r0:r1], options.inpaint_for(src.shape[1]), model, progress)
    out = src.copy()
    sub = out[r0:r1]
    values = _from_work(filled, src.dtype)[mask[r0:r1]]
    if np.issubdtype(src.dtype, np.integer):
        info_ = np.iinfo(src.dtype)
        values = np.clip(np.rint(values), info_.min, info_.max)
    sub[mask[r0:r1]] = values.astype(src.dtype)
    out[r0:r1] = sub
    timings["inpaint"] = time.perf_counter() - t
    return RemovalResult(
        out, mask, None, timings, {"rows": [r0, r1], "mask_pixels": int(mask.sum())}
    )
