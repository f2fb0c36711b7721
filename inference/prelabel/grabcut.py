"""Interactive segmentation: a box (and optional clicks) in a view → a spherical polygon.

OpenCV GrabCut runs on the box region (plus a margin) of the rendered view, scaled down so
its longer side is at most ``max_side`` pixels. Positive / negative clicks are painted as
sure foreground / background discs. If the project model gives a probability map for the
requested class, it seeds the mask (probable foreground where p > 0.5) instead of the bare
rectangle. The largest region (and any region under a positive click) is kept and turned
into a spherical polygon with :func:`label360.sphere.mask_to_geometry` in the view (straight
lines in a view are great circles, so the outline is exact up to the tolerance).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from label360.sphere import View, mask_to_geometry


@dataclass
class InteractiveResult:
    geometry: list
    score: float
    mask: np.ndarray  # bool (view.height, view.width)
    #: the model prior seeded GrabCut (it was given and saw enough of the box)
    used_prior: bool = False


def _region(box: tuple[float, float, float, float], w: int, h: int, margin: float) -> tuple:
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    mx = max(8.0, margin * (x1 - x0))
    my = max(8.0, margin * (y1 - y0))
    rx0, ry0 = max(0, int(np.floor(x0 - mx))), max(0, int(np.floor(y0 - my)))
    rx1, ry1 = min(w, int(np.ceil(x1 + mx)) + 1), min(h, int(np.ceil(y1 + my)) + 1)
    return (x0, y0, x1, y1), (rx0, ry0, rx1, ry1)


def _separability(image: np.ndarray, fg: np.ndarray) -> float:
    """1 − Bhattacharyya distance between fg and bg colour histograms: 0 alike, 1 apart."""
    if fg.all() or not fg.any():
        return 0.0
    hists = []
    for m in (fg, ~fg):
        hist = cv2.calcHist([image], [0, 1, 2], m.astype(np.uint8), [8, 8, 8], [0, 256] * 3)
        hists.append(cv2.normalize(hist, hist).flatten())
    return float(cv2.compareHist(hists[0], hists[1], cv2.HISTCMP_BHATTACHARYYA))


def segment_box(
    image: np.ndarray,
    view: View,
    box: tuple[float, float, float, float],
    positive: list[tuple[float, float]] = (),
    negative: list[tuple[float, float]] = (),
    prior: np.ndarray | None = None,
    tolerance_deg: float = 0.2,
    max_side: int = 256,
    iterations: int = 3,
    margin: float = 0.1,
    refine: bool = True,
    min_prior_fraction: float = 0.1,
) -> InteractiveResult:
    """Segment the object in ``box`` ([x0, y0, x1, y1] view pixels) of a view image.

    ``prior``: optional float (H, W) probability of the wanted class from the project model;
    used when p > 0.5 on at least ``min_prior_fraction`` of the box (else the bare box).
    Raises ValueError for a box that is empty or outside the view.
    """
    h, w = image.shape[:2]
    if (h, w) != (view.height, view.width):
        raise ValueError("image size does not match the view")
    (x0, y0, x1, y1), (rx0, ry0, rx1, ry1) = _region(box, w, h, margin)
    if x1 - x0 < 2 or y1 - y0 < 2 or rx1 - rx0 < 4 or ry1 - ry0 < 4:
        raise ValueError("the box is empty or outside the view")
    crop = np.ascontiguousarray(image[ry0:ry1, rx0:rx1, :3])
    scale = min(1.0, max_side / max(crop.shape[:2]))
    small = (
        cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if scale < 1.0
        else crop
    )
    sh, sw = small.shape[:2]
    # box in small-crop coordinates
    bx0 = int(np.clip(np.floor((x0 - rx0) * scale), 0, sw - 1))
    by0 = int(np.clip(np.floor((y0 - ry0) * scale), 0, sh - 1))
    bx1 = int(np.clip(np.ceil((x1 - rx0) * scale), bx0 + 1, sw))
    by1 = int(np.clip(np.ceil((y1 - ry0) * scale), by0 + 1, sh))
    mask = np.full((sh, sw), cv2.GC_BGD, np.uint8)
    used_prior = False
    mask[by0:by1, bx0:bx1] = cv2.GC_PR_FGD
    if prior is not None:
        p = cv2.resize(
            np.ascontiguousarray(prior[ry0:ry1, rx0:rx1], np.float32),
            (sw, sh),
            interpolation=cv2.INTER_LINEAR,
        )
        inside = mask == cv2.GC_PR_FGD
        # the model must see the object (a fair part of the box) to be trusted; a sliver
        # would seed GrabCut's colour models with the wrong pixels
        used_prior = bool(np.mean(p[inside] > 0.5) >= min_prior_fraction)
        if used_prior:
            mask[inside & (p < 0.5)] = cv2.GC_PR_BGD
            mask[inside & (p > 0.9)] = cv2.GC_FGD
    radius = max(2, int(round(0.03 * max(sw, sh))))
    for points, value in ((positive, cv2.GC_FGD), (negative, cv2.GC_BGD)):
        for px, py in points:
            cx, cy = int(round((px - rx0) * scale)), int(round((py - ry0) * scale))
            cv2.circle(mask, (cx, cy), radius, int(value), -1)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means initialisation: same answer for the same request
    try:
        cv2.grabCut(small, mask, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # degenerate colour models (e.g. a flat region): keep the seed
        pass
    fg_small = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    fg_small = _keep_main(
        fg_small, [((px - rx0) * scale, (py - ry0) * scale) for px, py in positive]
    )
    if scale < 1.0:
        soft = cv2.resize(
            fg_small.astype(np.float32), (crop.shape[1], crop.shape[0]), cv2.INTER_LINEAR
        )
        fg_crop = (
            _refine_edges(crop, soft, fgd, bgd)
            if refine and fgd.any() and bgd.any()
            else soft > 0.5
        )
    else:
        fg_crop = fg_small
    full = np.zeros((h, w), bool)
    full[ry0:ry1, rx0:rx1] = fg_crop
    geometry = mask_to_geometry(full, tolerance_deg, view=view) if full.any() else []
    score = _separability(small, fg_small) if geometry else 0.0
    if used_prior and geometry:
        p_full = prior[ry0:ry1, rx0:rx1]
        agree = float(np.mean((p_full > 0.5) == fg_crop))
        score = 0.5 * score + 0.5 * agree
    return InteractiveResult(geometry, round(score, 4), full, used_prior)


def _gmm_log_likelihood(pixels: np.ndarray, model: np.ndarray) -> np.ndarray:
    """log p(colour) under an OpenCV GrabCut GMM (65 numbers: 5 weights, 5 means, 5 covs)."""
    model = model.ravel()
    weights, means, covs = model[:5], model[5:20].reshape(5, 3), model[20:65].reshape(5, 3, 3)
    total = np.zeros(len(pixels))
    for k in range(5):
        if weights[k] <= 0:
            continue
        cov = covs[k] + np.eye(3) * 1e-2
        inv, det = np.linalg.inv(cov), max(np.linalg.det(cov), 1e-12)
        d = pixels - means[k]
        maha = np.einsum("ij,jk,ik->i", d, inv, d)
        total += weights[k] * np.exp(-0.5 * maha) / np.sqrt((2 * np.pi) ** 3 * det)
    return np.log(total + 1e-300)


def _refine_edges(
    crop: np.ndarray, soft: np.ndarray, fgd: np.ndarray, bgd: np.ndarray
) -> np.ndarray:
    """Full-resolution mask from an upsampled low-resolution GrabCut mask.

    Only the band where the upsampled mask is uncertain (the low-resolution edge pixels) is
    decided again, per pixel, by the GrabCut colour models (fg vs bg log-likelihood) plus a
    pull towards the upsampled mask; the result is median-filtered to drop speckle.
    """
    fg = soft > 0.5
    band = (soft > 0.02) & (soft < 0.98)
    if not band.any():
        return fg
    pixels = crop[band].astype(np.float64)
    llr = _gmm_log_likelihood(pixels, fgd) - _gmm_log_likelihood(pixels, bgd)
    decided = np.clip(llr, -6.0, 6.0) + 8.0 * (soft[band] - 0.5) > 0
    out = fg.copy()
    out[band] = decided
    smoothed = cv2.medianBlur(out.astype(np.uint8), 3).astype(bool)
    out[band] = smoothed[band]
    return out


def _keep_main(fg: np.ndarray, clicks: list[tuple[float, float]]) -> np.ndarray:
    """The largest connected region, plus any region under a positive click; holes filled."""
    labels, count = ndimage.label(fg)
    if count <= 1:
        return ndimage.binary_fill_holes(fg)
    sizes = ndimage.sum(fg, labels, index=np.arange(1, count + 1))
    keep = {int(np.argmax(sizes)) + 1}
    for cx, cy in clicks:
        j, i = int(round(cy)), int(round(cx))
        if 0 <= j < fg.shape[0] and 0 <= i < fg.shape[1] and labels[j, i]:
            keep.add(int(labels[j, i]))
    return ndimage.binary_fill_holes(np.isin(labels, list(keep)))
