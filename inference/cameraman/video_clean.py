"""Per-frame cameraman removal for video, consistent through time (no Django here).

For every frame, in one work frame for the whole clip (its maps are computed once):

1. **The mask.** The nadir cap (fixed in the camera), or the class polygons of the keyframes
   interpolated on the sphere to the frame's time (:mod:`.temporal`); on frames between
   keyframes the interpolated mask is then **refined from the frame's pixels** by at most
   ``refine_px`` either way (:mod:`.refine`), and grown by ``grow_px`` on the sphere.
2. **Re-use of an earlier fill under the camera's rotation.** The occluder turns with the
   camera, the background turns against it, so a fill made for one frame (the *reference*:
   the last frame inpainted afresh) is still right later wherever the background is static —
   once it is rotated by the camera's rotation since then. That rotation is measured between
   the reference and the current frame from corners outside the occluder (:mod:`.motion`);
   the reference's cleaned crop (its known pixels and its fill) is resampled once through it.
   If the known pixels round the hole agree with the rotated reference (mean absolute
   difference at most ``static_threshold`` code values, over pixels the reference saw), the
   rotated fill is used with a smooth border correction (lighting drift, no seam); otherwise
   — a translating camera, a moving background, a cut — the frame is inpainted afresh and
   becomes the new reference. When the frames share too few corners to measure a rotation (a
   small or flat frame), a still camera is assumed and the same check decides. Resampling
   always from the reference (not from frame to frame) keeps the re-used fill from blurring.
3. **Composite**: only mask pixels change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from time import perf_counter

import cv2
import numpy as np
from numpy.typing import NDArray

from label360.sphere.projection import equirect_pixel_coords

from .frame import CropMask, WorkFrame, _cast, back_coords, crop_mask, extract_padded, make_frame
from .inpaint import correct_border, inpaint
from .mask import cap_mask, grow, polygon_mask
from .motion import Features, estimate_rotation, frame_features, rotation_angle_deg
from .refine import refine_mask
from .remove import _from_work, _to_work, options_from
from .temporal import Keyframes

#: the ring of known pixels round the hole compared with the rotated reference (px)
RING_PX = 8
#: at least this many ring pixels the reference saw, or the comparison says nothing
MIN_RING = 200
#: keyframe times match frame times to this many seconds
TIME_TOLERANCE = 1e-3


def remap_points(
    image: NDArray, x: NDArray, y: NDArray, border: int = cv2.BORDER_REPLICATE
) -> NDArray:
    """Bilinear samples of ``image`` at the points (x, y) (1-D float32): (n, C). OpenCV maps
    are limited to 32767 rows or columns, so the points are laid out in rows of 4096."""
    n = x.size
    cols = 4096
    rows = max(1, -(-n // cols))
    mx = np.zeros(rows * cols, np.float32)
    my = np.zeros(rows * cols, np.float32)
    mx[:n], my[:n] = x.reshape(-1), y.reshape(-1)
    out = cv2.remap(image, mx.reshape(rows, cols), my.reshape(rows, cols), cv2.INTER_LINEAR,
                    borderMode=border, borderValue=0)  # fmt: skip
    return out.reshape(rows * cols, -1)[:n]


class CleanerError(ValueError):
    """The clip cannot be processed this way (the message says why)."""


@dataclass
class _Reference:
    features: Features
    clean: NDArray[np.float32]  # the reference's crop with its fill (work values)
    known: NDArray[np.float32]  # 1 where the reference's crop was seen, 0 in its hole


@dataclass
class CleanerStats:
    fresh: int = 0  # frames inpainted afresh
    reused: int = 0  # frames whose fill came from the rotated reference
    refined: int = 0  # masks refined from image evidence
    no_rotation: int = 0  # too few shared corners: a still camera was assumed
    disagreed: int = 0  # the rotated reference did not match the ring
    max_rotation_deg: float = 0.0  # largest rotation a re-used fill went through
    ring_changes: list[float] = field(default_factory=list, repr=False)
    seconds: dict[str, float] = field(default_factory=dict, repr=False)  # per stage, summed

    def as_dict(self) -> dict:
        return {
            "fresh_fills": self.fresh,
            "reused_fills": self.reused,
            "refined_masks": self.refined,
            "still_assumed": self.no_rotation,
            "ring_disagreed": self.disagreed,
            "max_reuse_rotation_deg": round(self.max_rotation_deg, 3),
        }


class VideoCleaner:
    """Removes the cameraman from the frames of one clip, in order (see the module doc).

    ``params`` are the validated video job params (``cap_deg``, ``grow_px``, ``method``, …,
    ``static_threshold``, ``refine_px``, ``reuse``)."""

    def __init__(
        self, params: dict, width: int, height: int, keyframes: Keyframes | None, model=None
    ):
        self.params = params
        self.options = options_from(params)
        self.model = model
        self.keyframes = keyframes
        self.size = (width, height)
        self.refine_px = int(params.get("refine_px", 0))
        self.reuse = bool(params.get("reuse", True))
        self.threshold = float(params.get("static_threshold", 4.0))
        if keyframes is None:
            grown = params["cap_deg"] + params["grow_px"] * 180.0 / height
            self.fixed_mask: NDArray | None = cap_mask(width, height, min(grown, 89.0))
            region = self.fixed_mask
        else:
            self.fixed_mask = None
            region = np.zeros((height, width), bool)
            for geometries in keyframes.geometries:
                region |= polygon_mask(geometries, width, height)
        extra = self.options.grow_px + self.refine_px
        try:
            # context for the mask moving between keyframes, growing and refining
            self.frame: WorkFrame = make_frame(
                region, self.options.margin_deg + 5.0 + extra * 180.0 / height
            )
        except ValueError as exc:
            raise CleanerError(str(exc)) from exc
        if keyframes is not None:
            # one back map for every row any frame's mask can reach (no recomputation)
            rows = np.nonzero(region.any(axis=1))[0]
            reach = int(math.ceil(10.0 / 180.0 * height)) + extra + 4
            self.frame.back_maps(max(0, rows.min() - reach), min(height, rows.max() + reach))
        self.reference: _Reference | None = None
        self.last_mask: NDArray | None = None  # the mask of the last frame cleaned
        self.stats = CleanerStats()
        self._directions: NDArray | None = None
        self._grown: tuple[NDArray, NDArray] | None = None
        self._holes: tuple[NDArray, CropMask] | None = None
        self._region_cache: tuple | None = None
        self._composite_cache: tuple | None = None

    @property
    def reused(self) -> int:
        return self.stats.reused

    # -- masks ----------------------------------------------------------------------------
    def is_keyframe(self, time: float) -> bool:
        times = self.keyframes.times if self.keyframes else []
        return any(abs(time - t) <= TIME_TOLERANCE for t in times)

    def mask_at(self, time: float, rgb: NDArray | None = None) -> NDArray[np.bool_]:
        """The frame's mask: the cap, or the keyframe polygons at ``time`` — refined from
        ``rgb`` between keyframes — grown on the sphere."""
        if self.fixed_mask is not None:
            return self.fixed_mask
        w, h = self.size
        mask = polygon_mask(self.keyframes.at(time), w, h)
        if not mask.any():
            return mask
        if rgb is not None and self.refine_px > 0 and not self.is_keyframe(time):
            refined = refine_mask(rgb, mask, self.frame, self.refine_px)
            if refined.any():
                mask = refined
                self.stats.refined += 1
        last = self._grown
        if last is not None and np.array_equal(last[0], mask):
            return last[1]  # the same mask as the previous frame (held polygons)
        grown = grow(mask, self.frame, self.options.grow_px)
        self._grown = (mask, grown)
        return grown

    def _hole(self, mask: NDArray) -> CropMask:
        """The crop's hole for ``mask`` (the previous frame's when the mask is the same)."""
        last = self._holes
        if last is not None and (last[0] is mask or np.array_equal(last[0], mask)):
            return last[1]
        cropped = crop_mask(mask, self.frame)
        self._holes = (mask, cropped)
        return cropped

    # -- the rotated reference ------------------------------------------------------------
    def _region(self, hole: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """Flat crop indices of the hole and the ring round it, whether each is in the hole,
        and their original-frame directions (only these pixels are rotated)."""
        if self._region_cache is not None and self._region_cache[0] is hole:
            return self._region_cache[1]
        if self._directions is None:
            self._directions = self.frame.crop_directions().reshape(-1, 3)
        size = 2 * RING_PX + 1
        near = cv2.dilate(hole.astype(np.uint8), np.ones((size, size), np.uint8)) > 0
        index = np.flatnonzero(near)
        region = (index, hole.reshape(-1)[index], self._directions[index])
        self._region_cache = (hole, region)
        return region

    def _from_reference(self, crop: NDArray, hole: NDArray, features: Features) -> NDArray | None:
        """The crop with the reference (its known pixels and fill) rotated into the hole and
        the ring round it, or None when the reference does not fit this frame."""
        ref = self.reference
        fit = estimate_rotation(ref.features, features)
        if fit is None:
            # too few corners to measure (a small or flat frame): try a camera that stood
            # still; the ring check below decides
            self.stats.no_rotation += 1
            matrix = np.eye(3)
        else:
            matrix = fit.matrix
        index, in_hole, directions = self._region(hole)
        combined = (self.frame.rotation @ matrix).astype(np.float32)
        work = cv2.transform(directions[:, None, :], combined).reshape(-1, 3)
        x, y = equirect_pixel_coords(work, self.frame.width, self.frame.height)
        mx = x - np.float32(self.frame.c0)
        my = y - np.float32(self.frame.r0)
        ch, cw = hole.shape
        hx, hy = mx[in_hole], my[in_hole]
        if not ((hx >= 0) & (hx <= cw - 1) & (hy >= 0) & (hy <= ch - 1)).all():
            self.stats.disagreed += 1  # the camera turned the hole beyond the reference's crop
            return None
        channels = crop.shape[2]
        values = remap_points(ref.clean, mx, my)
        seen = remap_points(ref.known, mx, my, cv2.BORDER_CONSTANT)[:, 0] >= 0.999
        ring = ~in_hole & seen
        if ring.sum() < MIN_RING:
            self.stats.disagreed += 1
            return None
        current = crop.reshape(-1, channels)[index]
        change = float(np.abs(current[ring] - values[ring]).mean())
        self.stats.ring_changes.append(change)
        if change > self.threshold:
            self.stats.disagreed += 1
            return None
        self.stats.max_rotation_deg = max(self.stats.max_rotation_deg, rotation_angle_deg(matrix))
        warped = crop.copy()
        warped.reshape(-1, channels)[index] = values
        return warped

    def _composite(self, rgb: NDArray, filled: NDArray, mask: NDArray) -> NDArray:
        """:func:`composite` with the mask's sampling positions kept while the mask stays."""
        cached = self._composite_cache
        if cached is None or cached[0] is not mask:
            rows, mx, my = back_coords(mask, self.frame)
            sel = mask[rows]
            flat = (rows[0] * mask.shape[1] + np.flatnonzero(sel)).astype(np.int64)
            cached = (mask, flat, mx[sel], my[sel])
            self._composite_cache = cached
        _, flat, mx, my = cached
        work = np.ascontiguousarray(_from_work(filled, rgb.dtype))
        sampled = remap_points(work, mx, my)
        out = rgb.copy()
        channels = rgb.shape[2] if rgb.ndim == 3 else 1
        out.reshape(-1, channels)[flat] = _cast(sampled, rgb.dtype)
        return out

    # -- one frame ------------------------------------------------------------------------
    def clean(self, rgb: NDArray, time: float) -> NDArray:
        """The frame with the cameraman removed (only mask pixels changed)."""
        clock = _Clock(self.stats.seconds)
        mask = self.mask_at(time, rgb)
        self.last_mask = mask
        if not mask.any():
            self.reference = None
            return rgb
        cropped = self._hole(mask)
        hole = cropped.hole
        clock("mask")
        crop = _to_work(cropped.clean(extract_padded(rgb, self.frame), rgb))
        clock("extract")
        features = frame_features(rgb, mask) if self.reuse else None
        clock("corners")
        filled = None
        if self.reference is not None and features is not None:
            warped = self._from_reference(crop, hole, features)
            clock("rotation")
            if warped is not None:
                filled = correct_border(crop, hole, warped)
                self.stats.reused += 1
                clock("re-use")
        if filled is None:
            options = self.options.inpaint_for(self.frame.width)
            filled = inpaint(crop, hole, options, self.model)
            self.stats.fresh += 1
            if features is not None:
                self.reference = _Reference(features, filled, (~hole).astype(np.float32))
            clock("inpaint")
        out = self._composite(rgb, filled, mask)
        clock("composite")
        return out


class _Clock:
    """Adds the seconds since the last call to ``totals[stage]``."""

    def __init__(self, totals: dict):
        self.totals = totals
        self.last = perf_counter()

    def __call__(self, stage: str) -> None:
        now = perf_counter()
        self.totals[stage] = self.totals.get(stage, 0.0) + now - self.last
        self.last = now
