"""Colour transfer between panoramas, weighted by solid angle.

A colour cast from white balance or exposure is a per-channel gain on *linear* radiance, so
the default method works on linearised sRGB: it fits the Monge–Kantorovich linear map (the
optimal-transport map between the two colour distributions seen as Gaussians, Pitié & Kokaram
2007) from the source's weighted mean/covariance to the reference's. For a pure gain cast
that map is exactly the inverse gain. ``space="lab"`` is Reinhard et al.'s per-channel
mean/std match in CIELab, for stylistic matches between unrelated scenes.

Statistics are weighted by each equirect pixel's solid angle (so the stretched polar rows do
not dominate) and skip clipped pixels (a clipped channel carries no colour information).
Optional region masks (e.g. sky / not sky) get a transform each, blended with a feathered
mask. Sequences fit one transform per frame and smooth its parameters over time, so a
sequence does not flicker.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from inference.prelabel.merge import pixel_solid_angles

from .choices import SPACES

__all__ = [
    "ColourTransform",
    "srgb_to_linear",
    "linear_to_srgb",
    "fit_transform",
    "apply_transform",
    "transfer",
    "transfer_sequence",
    "smooth_transforms",
]

_CLIP_LEVEL = 250  # 8-bit values at or above this are treated as clipped


def srgb_to_linear(image: NDArray) -> NDArray[np.float32]:
    """8-bit (or [0, 1] float) sRGB to linear [0, 1] float32 (IEC 61966-2-1 curve)."""
    x = image.astype(np.float32)
    if image.dtype == np.uint8:
        x /= 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(linear: NDArray) -> NDArray[np.uint8]:
    """Linear float to 8-bit sRGB, clipped to [0, 1] first."""
    x = np.clip(linear, 0.0, 1.0).astype(np.float32)
    s = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.clip(s * 255.0 + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class ColourTransform:
    """``out = matrix @ (x - src_mean) + ref_mean`` in the working space."""

    space: str
    matrix: NDArray[np.float64]
    src_mean: NDArray[np.float64]
    ref_mean: NDArray[np.float64]

    def as_affine(self) -> NDArray[np.float64]:
        """3×4 matrix [A | b] with out = A x + b (what temporal smoothing averages)."""
        b = self.ref_mean - self.matrix @ self.src_mean
        return np.concatenate([self.matrix, b[:, None]], axis=1)

    @classmethod
    def from_affine(cls, space: str, affine: NDArray[np.float64]) -> ColourTransform:
        return cls(space, affine[:, :3].copy(), np.zeros(3), affine[:, 3].copy())


def _to_space(image: NDArray[np.uint8], space: str) -> NDArray[np.float32]:
    linear = srgb_to_linear(image[:, :, :3])
    if space == "linear":
        return linear
    return cv2.cvtColor(linear, cv2.COLOR_RGB2Lab)  # float input: L in [0, 100]


def _from_space(values: NDArray[np.float32], space: str) -> NDArray[np.uint8]:
    if space == "lab":
        values = cv2.cvtColor(values.astype(np.float32), cv2.COLOR_Lab2RGB)
    return linear_to_srgb(values)


def _weights(image: NDArray[np.uint8], region: NDArray[np.bool_] | None) -> NDArray[np.float64]:
    h, w = image.shape[:2]
    weights = np.broadcast_to(pixel_solid_angles(w, h), (h, w)).astype(np.float64)
    if region is not None:
        weights = weights * region
    return weights


def _clipped_fractions(image: NDArray[np.uint8], weights: NDArray) -> tuple[float, float]:
    """Solid-angle fractions of pixels clipped dark (a channel at 0) and bright."""
    total = max(weights.sum(), 1e-300)
    rgb = image[:, :, :3]
    dark = float((weights * (rgb == 0).any(axis=2)).sum() / total)
    bright = float((weights * (rgb >= _CLIP_LEVEL).any(axis=2)).sum() / total)
    return dark, bright


def _rank_trim(
    values: NDArray, weights: NDArray, lo: float, hi: float, space: str
) -> NDArray[np.float64]:
    """Weights with the darkest ``lo`` and brightest ``hi`` fractions (by luminance) removed.

    Both images are trimmed by the same fractions, so under a monotone cast the statistics are
    taken over the same scene content even when one of them clips more.
    """
    if lo <= 0 and hi <= 0:
        return weights
    if space == "lab":
        lum = values[:, :, 0]
    else:
        lum = values @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    order = np.argsort(lum, axis=None, kind="stable")
    w_sorted = weights.reshape(-1)[order]
    cdf = np.cumsum(w_sorted) / max(w_sorted.sum(), 1e-300)
    keep_sorted = (cdf > lo) & (cdf <= 1.0 - hi)
    keep = np.empty_like(keep_sorted)
    keep[order] = keep_sorted
    return weights * keep.reshape(weights.shape)


def _stats(values: NDArray, weights: NDArray) -> tuple[NDArray, NDArray]:
    total = weights.sum()
    if total <= 0:
        raise ValueError("no usable (unclipped) pixels to measure colours from")
    flat = values.reshape(-1, 3).astype(np.float64)
    wf = weights.reshape(-1) / total
    mean = wf @ flat
    centred = flat - mean
    cov = (centred * wf[:, None]).T @ centred
    return mean, cov


def _sqrtm(m: NDArray[np.float64]) -> NDArray[np.float64]:
    vals, vecs = np.linalg.eigh((m + m.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def _mkl(cov_src: NDArray, cov_ref: NDArray) -> NDArray[np.float64]:
    """The symmetric positive map T with T cov_src T = cov_ref (Monge–Kantorovich)."""
    eps = 1e-10 * np.eye(3)
    s_half = _sqrtm(cov_src + eps)
    vals, vecs = np.linalg.eigh(s_half)
    s_inv_half = (vecs / np.clip(vals, 1e-8, None)) @ vecs.T
    middle = _sqrtm(s_half @ (cov_ref + eps) @ s_half)
    return s_inv_half @ middle @ s_inv_half


def fit_transform(
    source: NDArray[np.uint8],
    reference: NDArray[np.uint8],
    space: str = "linear",
    source_region: NDArray[np.bool_] | None = None,
    reference_region: NDArray[np.bool_] | None = None,
) -> ColourTransform:
    """The transform taking the source's colour statistics to the reference's."""
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}")
    for name, img in (("source", source), ("reference", reference)):
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] < 3:
            raise ValueError(f"{name} must be an 8-bit RGB image")
        if img.shape[1] != 2 * img.shape[0]:
            raise ValueError(f"{name} is not equirectangular (2:1)")
    src_values, ref_values = _to_space(source, space), _to_space(reference, space)
    src_w, ref_w = _weights(source, source_region), _weights(reference, reference_region)
    (src_lo, src_hi), (ref_lo, ref_hi) = (
        _clipped_fractions(source, src_w),
        _clipped_fractions(reference, ref_w),
    )
    lo, hi = max(src_lo, ref_lo), max(src_hi, ref_hi)
    src_mean, src_cov = _stats(src_values, _rank_trim(src_values, src_w, lo, hi, space))
    ref_mean, ref_cov = _stats(ref_values, _rank_trim(ref_values, ref_w, lo, hi, space))
    if space == "lab":  # Reinhard: per-channel scale of the standard deviations
        scale = np.sqrt(np.diag(ref_cov) / np.maximum(np.diag(src_cov), 1e-12))
        matrix = np.diag(scale)
    else:
        matrix = _mkl(src_cov, ref_cov)
    return ColourTransform(space, matrix, src_mean, ref_mean)


def _apply_values(values: NDArray[np.float32], t: ColourTransform) -> NDArray[np.float32]:
    affine = t.as_affine().astype(np.float32)
    flat = values.reshape(-1, 3) @ affine[:, :3].T + affine[:, 3]
    return flat.reshape(values.shape)


def apply_transform(image: NDArray[np.uint8], t: ColourTransform) -> NDArray[np.uint8]:
    """Apply a fitted transform to an 8-bit sRGB image (alpha, if any, is kept)."""
    out = _from_space(_apply_values(_to_space(image, t.space), t), t.space)
    if image.shape[2] > 3:
        out = np.concatenate([out, image[:, :, 3:]], axis=2)
    return out


def _feather(region: NDArray[np.bool_], radius_px: int) -> NDArray[np.float32]:
    soft = region.astype(np.float32)
    if radius_px <= 0:
        return soft
    k = 2 * radius_px + 1
    # wrap at the seam so the feather is continuous across lon ±180
    padded = np.concatenate([soft[:, -k:], soft, soft[:, :k]], axis=1)
    blurred = cv2.GaussianBlur(padded, (k, k), radius_px / 2, borderType=cv2.BORDER_REFLECT)
    return blurred[:, k:-k]


def transfer(
    source: NDArray[np.uint8],
    reference: NDArray[np.uint8],
    space: str = "linear",
    source_regions: list[NDArray[np.bool_]] | None = None,
    reference_regions: list[NDArray[np.bool_]] | None = None,
    feather_px: int = 8,
) -> NDArray[np.uint8]:
    """Match the source panorama's colours to the reference panorama's.

    With ``source_regions``/``reference_regions`` (matching lists of masks, e.g. [sky, ground])
    each region gets its own transform and the results are blended with feathered masks.
    """
    if not source_regions:
        return apply_transform(source, fit_transform(source, reference, space))
    if not reference_regions or len(reference_regions) != len(source_regions):
        raise ValueError("give one reference region per source region")
    values = _to_space(source, space)
    acc = np.zeros_like(values)
    total = np.zeros(values.shape[:2], np.float32)
    for s_reg, r_reg in zip(source_regions, reference_regions, strict=True):
        t = fit_transform(source, reference, space, s_reg, r_reg)
        w = _feather(s_reg, feather_px)
        acc += _apply_values(values, t) * w[:, :, None]
        total += w
    out = acc / np.maximum(total, 1e-6)[:, :, None]
    return _from_space(out, space)


def smooth_transforms(
    transforms: list[ColourTransform], sigma_frames: float
) -> list[ColourTransform]:
    """Gaussian smoothing of the affine parameters along the sequence (edges renormalised)."""
    if sigma_frames <= 0 or len(transforms) < 2:
        return list(transforms)
    space = transforms[0].space
    params = np.stack([t.as_affine() for t in transforms])
    n = len(transforms)
    idx = np.arange(n)
    out = []
    for i in range(n):
        w = np.exp(-0.5 * ((idx - i) / sigma_frames) ** 2)
        w /= w.sum()
        out.append(ColourTransform.from_affine(space, np.tensordot(w, params, axes=1)))
    return out


def transfer_sequence(
    frames: list[NDArray[np.uint8]],
    reference: NDArray[np.uint8],
    space: str = "linear",
    sigma_frames: float = 2.0,
) -> list[NDArray[np.uint8]]:
    """Match every frame to the reference with temporally smoothed transforms."""
    fitted = [fit_transform(f, reference, space) for f in frames]
    return [
        apply_transform(f, t)
        for f, t in zip(frames, smooth_transforms(fitted, sigma_frames), strict=True)
    ]
