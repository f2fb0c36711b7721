"""The work frame: a rotated copy of the sphere where the masked region sits on the equator.

Near the poles an equirectangular image is stretched without bound (the nadir row is one
point drawn W times), so patches there have no fixed shape. The region is therefore moved
to where the projection is nearly conformal: a rotation ``R`` takes the mask's mean
direction to (lon 0, lat 0) — for the nadir cap that is a pitch of 90° — and only a crop of
the rotated equirect image around it, at the source's angular resolution, is worked on.

Going back never resamples the whole image: for each pixel of the *original* mask the
rotated position is computed and the filled crop sampled there; every other pixel is copied
from the input, so it comes back bit-identical (:func:`composite`).

The crop's hole is as tight as the mask (:func:`crop_mask`): a crop pixel is filled when most
of its bilinear footprint is masked; a known crop pixel whose footprint touches the mask is
re-sampled from its unmasked source pixels only, so no occluder colour reaches the known
border and sampling back reads either filled or clean pixels. (A hole grown to every touched
footprint would be two pixels wider all round: on a tripod leg ten pixels wide that is a
third more hole, and a measurably worse fill.)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from label360.sphere.projection import equirect_pixel_coords, sample_equirect
from label360.sphere.vectors import vec_to_lonlat


@dataclass
class WorkFrame:
    """A crop of the rotated equirect image: rotated-frame pixel (c0 + i, r0 + j) is crop
    pixel (i, j); the rotated image has the source's size (width, height)."""

    rotation: NDArray  # 3x3: original direction -> work-frame direction
    width: int
    height: int
    c0: int
    r0: int
    crop_width: int
    crop_height: int
    # directions and back maps are computed once per frame (they are reused by the mask,
    # the hole and the image)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def crop_directions(self) -> NDArray[np.float32]:
        """Directions (in the ORIGINAL frame) of the crop's pixel centres, (h, w, 3)."""
        if "dirs" not in self._cache:
            self._cache["dirs"] = self._crop_directions()
        return self._cache["dirs"]

    def back_maps(self, lo: int, hi: int) -> tuple[NDArray, NDArray]:
        """Crop coordinates (x, y), float32 (hi - lo, W), of the source rows lo..hi-1."""
        have = self._cache.get("back")
        if have is None or not (have[0] <= lo and hi <= have[1]):
            rotated = grid_directions(
                np.arange(lo, hi), np.arange(self.width), self.width, self.height, self.rotation
            )
            x, y = equirect_pixel_coords(rotated, self.width, self.height)
            have = (lo, hi, x - np.float32(self.c0), y - np.float32(self.r0))
            self._cache["back"] = have
        a, b = lo - have[0], hi - have[0]
        return have[2][a:b], have[3][a:b]

    def source_maps(self) -> tuple[NDArray, NDArray]:
        """Coordinates (x, y), float32 (crop_h, crop_w), of the crop's pixel centres in the
        source image padded by one pixel on every side (see :func:`extract_padded`)."""
        if "source" not in self._cache:
            x, y = equirect_pixel_coords(self.crop_directions(), self.width, self.height)
            self._cache["source"] = (x + np.float32(1), y + np.float32(1))
        return self._cache["source"]

    def _crop_directions(self) -> NDArray[np.float32]:
        cols = np.arange(self.c0, self.c0 + self.crop_width)
        rows = np.arange(self.r0, self.r0 + self.crop_height)
        return grid_directions(rows, cols, self.width, self.height, self.rotation.T)

    def as_dict(self) -> dict:
        return {
            "rotation": np.round(self.rotation, 9).tolist(),
            "crop": [self.c0, self.r0, self.crop_width, self.crop_height],
        }


def rotation_to_front(direction: NDArray) -> NDArray:
    """A rotation taking the unit vector ``direction`` to (0, 0, 1) (lon 0, lat 0) without
    spinning about it more than needed: yaw to lon 0, then pitch to the equator."""
    lon, lat = vec_to_lonlat(np.asarray(direction, np.float64))
    a, b = math.radians(float(lon)), math.radians(float(lat))
    ry = np.array([[math.cos(a), 0, -math.sin(a)], [0, 1, 0], [math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    return rx @ ry


def grid_directions(
    rows: NDArray, cols: NDArray, width: int, height: int, matrix: NDArray
) -> NDArray[np.float32]:
    """``matrix @ v`` for the centre directions v of equirect pixels rows x cols, float32
    (len(rows), len(cols), 3).

    v = (cos φ sin λ, sin φ, cos φ cos λ) is separable in rows and columns, so each rotated
    component is built from two outer products instead of a 3x3 product per pixel.
    """
    lon = np.radians((np.asarray(cols, np.float64) + 0.5) / width * 360.0 - 180.0)
    lat = np.radians(90.0 - (np.asarray(rows, np.float64) + 0.5) / height * 180.0)
    cos_lat = np.cos(lat).astype(np.float32)[:, None]
    sin_lat = np.sin(lat).astype(np.float32)[:, None]
    sin_lon = np.sin(lon).astype(np.float32)[None, :]
    cos_lon = np.cos(lon).astype(np.float32)[None, :]
    m = np.asarray(matrix, np.float32)
    out = np.empty((len(rows), len(cols), 3), np.float32)
    for k in range(3):
        out[..., k] = cos_lat * (sin_lon * m[k, 0] + cos_lon * m[k, 2]) + sin_lat * m[k, 1]
    return out


def _mask_rows(mask: NDArray) -> NDArray:
    return np.nonzero(mask.any(axis=1))[0]


def mask_extent(mask: NDArray) -> tuple[NDArray, float]:
    """Area-weighted mean direction of the mask and its angular radius (degrees) about it."""
    h, w = mask.shape
    rows = _mask_rows(mask)
    if rows.size == 0:
        raise ValueError("the mask is empty")
    total = np.zeros(3)
    lat = 90.0 - (rows + 0.5) / h * 180.0
    lon = (np.arange(w) + 0.5) / w * 360.0 - 180.0
    sin_lon, cos_lon = np.sin(np.radians(lon)), np.cos(np.radians(lon))
    sub = mask[rows].astype(np.float64)
    cl, sl = np.cos(np.radians(lat)), np.sin(np.radians(lat))
    count = sub.sum(axis=1)
    total[0] = (cl * cl * (sub @ sin_lon)).sum()
    total[1] = (cl * sl * count).sum()
    total[2] = (cl * cl * (sub @ cos_lon)).sum()
    norm = np.linalg.norm(total)
    centre = total / norm if norm > 1e-9 else np.array([0.0, -1.0, 0.0])
    # angular radius: the smallest cosine to the centre over masked pixels, row by row
    dots = (cl[:, None] * (sin_lon[None, :] * centre[0] + cos_lon[None, :] * centre[2])
            + sl[:, None] * centre[1])  # fmt: skip
    min_dot = float(np.where(mask[rows], dots, 2.0).min())
    radius = math.degrees(math.acos(max(-1.0, min(1.0, min_dot))))
    return centre, radius


def make_frame(
    mask: NDArray, margin_deg: float, multiple: int = 1, max_half_deg: float = 85.0
) -> WorkFrame:
    """The frame and crop for ``mask`` (H, W): the region, plus ``margin_deg`` of context on
    every side, sized to a multiple of ``multiple`` pixels."""
    h, w = mask.shape
    centre, radius = mask_extent(mask)
    if radius > max_half_deg - 1.0:
        raise ValueError(
            f"the mask spreads {radius:.0f}° from its centre; at most {max_half_deg - 1:.0f}° "
            "can be worked on in one frame"
        )
    half = min(radius + margin_deg, max_half_deg)
    half_px = math.ceil(half / 360.0 * w)
    size = 2 * half_px
    size = int(math.ceil(size / multiple) * multiple)
    c0 = w // 2 - size // 2
    r0 = h // 2 - size // 2
    return WorkFrame(rotation_to_front(centre), w, h, c0, r0, size, size)


def extract(image: NDArray, frame: WorkFrame) -> NDArray:
    """The crop of the rotated image (bilinear), same dtype as ``image``."""
    return sample_equirect(image, frame.crop_directions())


def pad_equirect(image: NDArray) -> NDArray:
    """``image`` with one more pixel on every side, continued on the sphere: the columns wrap
    at the seam, the row beyond a pole is the pole row half way round."""
    h, w = image.shape[:2]
    out = np.empty((h + 2, w + 2) + image.shape[2:], image.dtype)
    out[1:-1, 1:-1] = image
    out[0, 1:-1] = np.roll(image[0], w // 2, axis=0)
    out[-1, 1:-1] = np.roll(image[-1], w // 2, axis=0)
    out[:, 0] = out[:, w]
    out[:, -1] = out[:, 1]
    return out


def extract_padded(image: NDArray, frame: WorkFrame) -> NDArray:
    """:func:`extract` with the maps computed once per frame geometry (for video: every
    frame of a clip is sampled through the same maps)."""
    mx, my = frame.source_maps()
    padded = pad_equirect(np.ascontiguousarray(image))
    out = cv2.remap(padded, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(mx.shape + image.shape[2:])


def footprint(mask: NDArray, frame: WorkFrame) -> NDArray[np.bool_]:
    """Every crop pixel whose bilinear footprint touches the mask, plus one pixel round them
    (the mask seen in the work frame with room to spare, e.g. to grow it)."""
    touched, _ = _mask_in_footprints(mask, frame)
    shape = (frame.crop_height, frame.crop_width)
    return cv2.dilate(touched.reshape(shape).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


@dataclass
class CropMask:
    """The mask in the work frame: the crop's ``hole``, and the known crop pixels next to it
    (flat indices ``border``) with the bilinear footprint of each restricted to unmasked
    source pixels (flat source indices ``sources`` and weights summing to one, both (n, 4))."""

    hole: NDArray[np.bool_]
    border: NDArray[np.int64]
    sources: NDArray[np.int64]
    weights: NDArray[np.float32]

    def clean(self, crop: NDArray, image: NDArray) -> NDArray:
        """``crop`` (sampled from ``image`` through the frame) with the border pixels
        re-sampled from unmasked source pixels only (in place; returned)."""
        if self.border.size:
            channels = crop.shape[2] if crop.ndim == 3 else 1
            src = image.reshape(-1, channels)[self.sources].astype(np.float32)
            values = (src * self.weights[..., None]).sum(axis=1)
            crop.reshape(-1, channels)[self.border] = _cast(values, crop.dtype)
        return crop


def _footprint_sources(
    frame: WorkFrame, pixels: NDArray | None = None
) -> Iterator[tuple[NDArray, NDArray]]:
    """For crop pixels (flat indices ``pixels``, or all), yield the flat source index and the
    bilinear weight of each corner of their footprint, continued on the sphere beyond the
    seam and the poles like :func:`pad_equirect`."""
    mx, my = (m.reshape(-1) for m in frame.source_maps())  # in the source padded by one
    if pixels is not None:
        mx, my = mx[pixels], my[pixels]
    x0, y0 = np.floor(mx), np.floor(my)
    fx, fy = mx - x0, my - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    w, h = frame.width, frame.height
    for dy, wy in ((0, 1 - fy), (1, fy)):
        row = y0 + (dy - 1)
        shift = np.where((row < 0) | (row >= h), w // 2, 0)  # beyond a pole: half way round
        row = np.clip(row, 0, h - 1)
        for dx, wx in ((0, 1 - fx), (1, fx)):
            yield row * w + (x0 + (dx - 1) + shift) % w, wy * wx


def _mask_in_footprints(mask: NDArray, frame: WorkFrame) -> tuple[NDArray, NDArray]:
    """For every crop pixel (flat): whether its bilinear footprint touches the mask, and the
    weight of its unmasked source pixels."""
    flat = mask.reshape(-1)
    touched = np.zeros(frame.crop_height * frame.crop_width, bool)
    known_weight = np.zeros(touched.shape, np.float32)
    for index, weight in _footprint_sources(frame):
        masked = flat[index]
        touched |= masked
        known_weight += np.where(masked, np.float32(0), weight)
    return touched, known_weight


def crop_mask(mask: NDArray, frame: WorkFrame) -> CropMask:
    """The crop's hole (pixels whose footprint is mostly masked) and its clean border."""
    flat = mask.reshape(-1)
    touched, known_weight = _mask_in_footprints(mask, frame)
    hole = known_weight < 0.5
    border = np.flatnonzero(touched & ~hole)
    corners = list(_footprint_sources(frame, border))
    sources = np.stack([index for index, _ in corners], axis=1)
    kept = np.stack([np.where(flat[i], np.float32(0), wt) for i, wt in corners], axis=1)
    kept /= kept.sum(axis=1, keepdims=True)
    shape = (frame.crop_height, frame.crop_width)
    return CropMask(hole.reshape(shape), border, sources, kept.astype(np.float32))


def back_coords(mask: NDArray, frame: WorkFrame) -> tuple[NDArray, NDArray, NDArray]:
    """For the rows holding mask pixels: (rows, x, y) — crop coordinates of every pixel of
    those rows in the work frame (float32 (n_rows, W) maps)."""
    rows = _mask_rows(mask)
    lo, hi = int(rows[0]), int(rows[-1]) + 1
    mx, my = frame.back_maps(lo, hi)
    return np.arange(lo, hi), mx, my


def composite(image: NDArray, filled_crop: NDArray, mask: NDArray, frame: WorkFrame) -> NDArray:
    """``image`` with its mask pixels replaced by the filled crop sampled back; every other
    pixel is copied unchanged (bit-identical)."""
    rows, mx, my = back_coords(mask, frame)  # a contiguous range of rows
    work = np.ascontiguousarray(filled_crop)
    if work.ndim == 3 and work.shape[2] > 4:
        raise ValueError("at most 4 channels")
    sampled = cv2.remap(work, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    sampled = sampled.reshape((len(rows), frame.width) + image.shape[2:])
    out = image.copy()
    sub = out[rows]
    sel = mask[rows]
    sub[sel] = _cast(sampled[sel], image.dtype)
    out[rows] = sub
    return out


def _cast(values: NDArray, dtype: np.dtype) -> NDArray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype)
