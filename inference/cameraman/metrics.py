"""Quality of a fill against the true pixels, seen the way a person sees it.

Scores are computed in a rectilinear view centred on the mask (an equirect image near the
nadir would weight a few square degrees by thousands of pixels): PSNR and SSIM over the
view pixels inside the mask, a seam score — the gradient energy in a thin band across
the mask border divided by the same in the true image (1.0: the border is as busy as the
real scene; above: a visible seam) — and a texture score: the gradient energy inside the
mask divided by the same in the true image (1.0: as textured as the real scene; near 0: a
flat fill, which PSNR rewards, since a smooth guess of unknowable texture has the least
squared error).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from label360.sphere.projection import equirect_to_view
from label360.sphere.vectors import vec_to_lonlat

from .frame import mask_extent


def _ssim_map(a: NDArray, b: NDArray) -> NDArray:
    """Per-pixel SSIM (Gaussian window, sigma 1.5) of two grey float images in 0..255."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x):
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    mu_a, mu_b = blur(a), blur(b)
    va = blur(a * a) - mu_a**2
    vb = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))


def _grey(rgb: NDArray) -> NDArray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _gradient(grey: NDArray) -> NDArray:
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return np.sqrt(gx * gx + gy * gy)


def fill_scores(truth: NDArray, result: NDArray, mask: NDArray, size: int = 512) -> dict:
    """PSNR (dB), SSIM, seam and texture scores of ``result`` against ``truth`` (uint8 RGB
    equirect images) inside ``mask``, in a view centred on the mask."""
    centre, radius = mask_extent(mask)
    lon, lat = vec_to_lonlat(centre)
    hfov = float(min(150.0, 2.0 * radius + 20.0))
    args = (float(lon), float(lat), 0.0, hfov, size, size)
    t = equirect_to_view(truth, *args)
    r = equirect_to_view(result, *args)
    m = equirect_to_view(mask.astype(np.uint8) * 255, *args, interpolation="nearest") > 0
    m = cv2.erode(m.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # no resampling mixes
    diff = t[m].astype(np.float64) - r[m]
    mse = float((diff**2).mean()) if diff.size else 0.0
    psnr = 10 * np.log10(255.0**2 / max(mse, 1e-10))
    ssim = float(_ssim_map(_grey(t), _grey(r))[m].mean())
    edge = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((5, 5), np.uint8)) > 0
    grad_t, grad_r = _gradient(_grey(t)), _gradient(_grey(r))
    seam = float(grad_r[edge].mean() / max(grad_t[edge].mean(), 1e-6))
    # inside only: away from the border band, whose gradients the seam score already counts
    inside = cv2.erode(m.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    inside = inside if inside.any() else m
    texture = float(grad_r[inside].mean() / max(grad_t[inside].mean(), 1e-6)) if m.any() else 1.0
    return {"psnr": float(psnr), "ssim": ssim, "seam": seam, "texture": texture}
