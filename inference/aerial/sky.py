"""Sky segmentation and sky replacement on equirectangular panoramas.

Segmentation (classical, no model): the sky is the smooth region connected to the zenith.
Seeds are low-gradient pixels above the horizon in components that reach the top rows
(joined across the seam); GrabCut's colour models, started from those seeds, decide the rest
above the horizon; a guided filter on the full-resolution image snaps the boundary to the
skyline. GrabCut runs on the equirect image padded by a wrap of columns, so objects that cross
lon ±180 are cut the same on both sides. Near the zenith the equirect grid is stretched, but
that is the inside of the sky, not where the skyline lies. When the project model knows a sky
class (:func:`sky_from_model`), or the admin draws sky polygons, those masks are used instead
(:mod:`.jobs`).

Replacement: a new sky (another panorama, rotated to a heading) is composited with the
feathered mask, and the foreground is relit toward the new sky's colour and brightness by a
per-channel gain in linear light (the sky is the main illuminant outdoors).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from scipy.spatial import cKDTree

from inference.prelabel.merge import pixel_solid_angles
from label360.sphere.contours import seam_components
from label360.sphere.projection import rotate_equirect
from label360.sphere.vectors import lonlat_to_vec

from .colour import linear_to_srgb, srgb_to_linear

__all__ = [
    "segment_sky",
    "sky_from_model",
    "replace_sky",
    "sky_iou",
    "halo_width_deg",
    "NoSkyError",
]

WORK_WIDTH = 1024  # segmentation resolution; the guided filter restores full-res edges
_WRAP = 32  # columns of seam wrap around the GrabCut input


class NoSkyError(ValueError):
    """The panorama shows no sky (e.g. indoors)."""


def _lat_rows(height: int) -> NDArray[np.float64]:
    return 90.0 - (np.arange(height) + 0.5) * 180.0 / height


def _gradient(lab: NDArray[np.float32]) -> NDArray[np.float32]:
    padded = np.concatenate([lab[:, -2:], lab, lab[:, :2]], axis=1)
    gx = cv2.Sobel(padded, cv2.CV_32F, 1, 0, ksize=3)[:, 2:-2]
    gy = cv2.Sobel(padded, cv2.CV_32F, 0, 1, ksize=3)[:, 2:-2]
    return np.sqrt((gx**2 + gy**2).sum(axis=2))


#: a seed component must hold this share of the largest one's pixels within 20° of the
#: zenith: the smooth wall between the windows of a tall building near the camera also
#: reaches that high, but only as slivers
SEED_CAP_SHARE = 0.1


def _seeds(lab: NDArray[np.float32], lat: NDArray, smooth_max: float) -> NDArray[np.bool_]:
    """Smooth pixels above the horizon in components that fill a good part of the sky
    within 20° of the zenith."""
    grad = _gradient(cv2.GaussianBlur(lab, (3, 3), 0))
    smooth = (grad < smooth_max) & (lat[:, None] > 0)
    smooth = ndimage.binary_opening(smooth, np.ones((3, 3), bool))
    labels, count = seam_components(smooth)
    if count == 0:
        return np.zeros_like(smooth)
    # weight by solid angle (cos lat): near the zenith every row has as many pixels
    weights = np.broadcast_to(np.cos(np.radians(lat))[:, None], labels.shape)
    top = (lat > 70)[:, None] & (labels > 0)
    in_cap = np.bincount(labels[top], weights=weights[top], minlength=count + 1)
    keep = np.flatnonzero(in_cap >= SEED_CAP_SHARE * in_cap.max())
    return np.isin(labels, keep[keep > 0])


#: a bright region joins the sky when at least this share of its border is sky
BRIGHT_BORDER_SKY = 0.6
#: ... or this share when it looks like the sun: solid (no windows in it) around a
#: saturated core; a sun half behind a building has half its border on the building
SUN_BORDER_SKY = 0.3


def _sun_like(blob: NDArray[np.bool_], light: NDArray[np.float32]) -> bool:
    """A saturated core and no holes: the sun's disc and glare, not a lit wall with windows."""
    filled = ndimage.binary_fill_holes(blob)
    solid = (filled.sum() - blob.sum()) <= 0.01 * filled.sum()
    return bool(solid and float(light[blob].max()) >= 95.0)


def _fill_bright_holes(
    sky: NDArray[np.bool_], lab: NDArray[np.float32], lat: NDArray
) -> NDArray[np.bool_]:
    """Regions above the horizon, brighter than the sky and bordered mostly by sky — the
    sun's disc and its glare — are sky: colour models miss them (a steep gradient, a colour
    far from the sky's). A white façade is as bright, but its border is mostly wall, windows
    and ground, not sky."""
    if not sky.any():
        return sky
    threshold = min(float(np.median(lab[:, :, 0][sky])) + 3.0, 97.0)
    bright = ~sky & (lab[:, :, 0] >= threshold) & (lat[:, None] > 0)
    blobs, count = seam_components(bright)
    if count == 0:
        return sky
    out = sky.copy()
    width = sky.shape[1]
    for k, box in enumerate(ndimage.find_objects(blobs), start=1):
        if box is None:
            continue
        rows, cols = box
        if cols.stop - cols.start >= width - 1:  # wraps the seam: look at all columns
            cols = slice(0, width)
        r0, r1 = max(rows.start - 3, 0), min(rows.stop + 3, sky.shape[0])
        c0, c1 = max(cols.start - 3, 0), min(cols.stop + 3, width)
        blob = blobs[r0:r1, c0:c1] == k
        ring = ndimage.binary_dilation(blob, np.ones((5, 5), bool)) & ~blob
        light = lab[r0:r1, c0:c1, 0]
        if not ring.any():
            continue
        share = float(sky[r0:r1, c0:c1][ring].mean())
        if share >= BRIGHT_BORDER_SKY or (share >= SUN_BORDER_SKY and _sun_like(blob, light)):
            out[r0:r1, c0:c1] |= blob
    return out


def _textured(lab: NDArray[np.float32], smooth_max: float, window: int = 15) -> NDArray[np.bool_]:
    """Pixels whose neighbourhood is dense with edges (a lone skyline edge is not dense)."""
    edges = (_gradient(lab) > 3 * smooth_max).astype(np.float32)
    pad = window
    padded = np.concatenate([edges[:, -pad:], edges, edges[:, :pad]], axis=1)
    density = cv2.boxFilter(padded, -1, (window, window), borderType=cv2.BORDER_REFLECT)
    dense = density[:, pad:-pad] > 0.15
    # the window reaches half its size past a façade's outline: pull the mark back off the sky
    return ndimage.binary_erosion(dense, np.ones((window, window), bool))


def _looks_like_sky(lab: NDArray[np.float32], seeds: NDArray[np.bool_], lat: NDArray) -> bool:
    """A ceiling is smooth and reaches the zenith too; a sky is blue (b* < -5) or, overcast,
    clearly brighter than the ground (measured: rooms 0.6-0.97, outdoor scenes 1.02-1.46)."""
    blue = float(lab[:, :, 2][seeds].mean()) < -5.0
    ground = lab[:, :, 0][lat < -10]
    bright = float(lab[:, :, 0][seeds].mean()) >= 1.15 * max(float(ground.mean()), 1e-3)
    return blue or bright


def segment_sky(image: NDArray[np.uint8], iterations: int = 4) -> NDArray[np.bool_]:
    """Boolean sky mask of an 8-bit RGB equirect panorama (same size as the input)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[1] != 2 * image.shape[0]:
        raise ValueError("sky segmentation needs an 8-bit RGB equirectangular image")
    full_h, full_w = image.shape[:2]
    rgb = np.ascontiguousarray(image[:, :, :3])
    work_w = min(WORK_WIDTH, full_w)
    small = cv2.resize(rgb, (work_w, work_w // 2), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lat = _lat_rows(small.shape[0])
    seeds = _seeds(lab, lat, smooth_max=6.0 * 1024 / work_w)
    if seeds.sum() < 0.002 * seeds.size:
        raise NoSkyError("no sky found: no smooth region above the horizon reaches the zenith")
    if not _looks_like_sky(lab, seeds, lat):
        raise NoSkyError(
            "no sky found: the smooth region over the camera is neither blue nor brighter "
            "than the ground (a ceiling?)"
        )
    mask = np.full(seeds.shape, cv2.GC_PR_BGD, np.uint8)
    mask[seeds] = cv2.GC_PR_FGD
    mask[ndimage.binary_erosion(seeds, np.ones((7, 7), bool))] = cv2.GC_FGD
    mask[lat < -2.0] = cv2.GC_BGD  # below the horizon of a levelled panorama
    # textured surfaces (façades with windows, foliage) are never sky, whatever their colour
    mask[_textured(lab, smooth_max=6.0 * 1024 / work_w) & ~seeds] = cv2.GC_BGD
    wrap = min(_WRAP, work_w // 4)
    padded_img = np.concatenate([small[:, -wrap:], small, small[:, :wrap]], axis=1)
    padded_mask = np.concatenate([mask[:, -wrap:], mask, mask[:, :wrap]], axis=1)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut seeds its k-means from the global RNG: keep runs repeatable
    cv2.grabCut(
        cv2.cvtColor(padded_img, cv2.COLOR_RGB2BGR),
        padded_mask,
        None,
        bgd,
        fgd,
        iterations,
        cv2.GC_INIT_WITH_MASK,
    )
    sky_small = np.isin(padded_mask[:, wrap:-wrap], (cv2.GC_FGD, cv2.GC_PR_FGD))
    # the sky is what stays connected to the zenith seeds
    labels, _ = seam_components(sky_small)
    keep = np.unique(labels[seeds & sky_small])
    sky_small = np.isin(labels, keep[keep > 0])
    sky_small = _fill_bright_holes(sky_small, lab, lat)
    return _refine_full(rgb, sky_small.astype(np.float32), full_w, full_h)


def sky_from_model(
    image: NDArray[np.uint8], predictor, sky_index: int, hfov: float = 90.0
) -> NDArray[np.bool_]:
    """The sky of a semantic model (the project's pre-labelling model when it knows "sky"):
    per-view probabilities fused on the sphere (the pre-labelling merge), sky where it wins,
    the boundary snapped to full resolution by the guided filter."""
    from inference.prelabel.coverage import cover_views
    from inference.prelabel.merge import fuse_probabilities
    from inference.prelabel.predict import view_image

    full_h, full_w = image.shape[:2]
    rgb = np.ascontiguousarray(image[:, :, :3])
    views = cover_views(predictor.view_size, hfov)
    per_view = ((v, predictor.probabilities(view_image(rgb, v)[None])[0]) for v in views)
    work_w = min(WORK_WIDTH, full_w)
    fused, seen = fuse_probabilities(per_view, work_w, work_w // 2)
    sky_small = (np.argmax(fused, axis=2) == sky_index) & (seen > 0)
    if not sky_small.any():
        raise NoSkyError("no sky found by the project model")
    return _refine_full(rgb, sky_small.astype(np.float32), full_w, full_h)


def _refine_full(rgb: NDArray, soft_small: NDArray, width: int, height: int) -> NDArray[np.bool_]:
    soft = cv2.resize(soft_small, (width, height), interpolation=cv2.INTER_LINEAR)
    if width == soft_small.shape[1]:
        return soft > 0.5
    radius = max(2, width // soft_small.shape[1] * 2)
    guide = rgb.astype(np.float32) / 255.0
    pad = 2 * radius
    g = np.concatenate([guide[:, -pad:], guide, guide[:, :pad]], axis=1)
    s = np.concatenate([soft[:, -pad:], soft, soft[:, :pad]], axis=1)
    refined = cv2.ximgproc.guidedFilter(g, s, radius, 1e-3)[:, pad:-pad]
    return refined > 0.5


def feathered_alpha(mask: NDArray[np.bool_], feather_deg: float = 0.5) -> NDArray[np.float32]:
    """Soft alpha of a mask, blurred over ``feather_deg`` with wrap at the seam."""
    h, w = mask.shape
    if feather_deg <= 0:
        return mask.astype(np.float32)
    sigma = max(0.5, feather_deg / 360.0 * w)
    k = int(2 * round(3 * sigma) + 1)
    soft = mask.astype(np.float32)
    padded = np.concatenate([soft[:, -k:], soft, soft[:, :k]], axis=1)
    return cv2.GaussianBlur(padded, (k, k), sigma, borderType=cv2.BORDER_REFLECT)[:, k:-k]


def _weighted_mean(linear: NDArray, weights: NDArray) -> NDArray[np.float64]:
    total = weights.sum()
    if total <= 0:
        raise NoSkyError("the sky mask is empty")
    return (linear * weights[:, :, None]).reshape(-1, 3).sum(axis=0) / total


def sky_plate(
    panorama: NDArray[np.uint8], sky: NDArray[np.bool_] | None = None
) -> NDArray[np.uint8]:
    """The sky of another panorama, continued below its own skyline: a replacement must not
    bring that panorama's buildings and trees into the sky it fills (the old sky often
    reaches lower than the new one's skyline).

    Each non-sky pixel takes the colour of the lowest sky pixel above it on its meridian
    (the horizon haze carried down), softened across meridians so the fill shows no stripes;
    a meridian with no sky above takes the mean colour of the sky's lowest row band."""
    rgb = np.ascontiguousarray(panorama[:, :, :3])
    if sky is None:
        sky = segment_sky(rgb)
    if sky.shape != rgb.shape[:2]:
        raise ValueError("the sky mask does not match the panorama size")
    if not sky.any():
        raise NoSkyError("the sky panorama shows no sky")
    h, w = sky.shape
    rows = np.where(sky, np.arange(h)[:, None], -1)
    last = np.maximum.accumulate(rows, axis=0)  # the lowest sky row at or above each pixel
    cols = np.broadcast_to(np.arange(w), (h, w))
    filled = rgb[np.maximum(last, 0), cols].astype(np.float32)
    no_sky_above = last < 0
    if no_sky_above.any():
        filled[no_sky_above] = rgb[sky].reshape(-1, 3).mean(axis=0)
    # soften across meridians (wrapping at the seam), then keep the real sky as it was
    pad = max(4, w // 128)
    wrapped = np.concatenate([filled[:, -pad:], filled, filled[:, :pad]], axis=1)
    soft = cv2.blur(wrapped, (2 * pad + 1, 1))[:, pad:-pad]
    out = np.where(sky[:, :, None], rgb.astype(np.float32), soft)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def replace_sky(
    image: NDArray[np.uint8],
    sky: NDArray[np.bool_],
    new_sky: NDArray[np.uint8],
    heading_deg: float = 0.0,
    feather_deg: float = 0.5,
    relight: float = 0.5,
) -> NDArray[np.uint8]:
    """Composite ``new_sky`` (an 8-bit equirect panorama; pass it through :func:`sky_plate`
    first unless it is all sky) into the sky of ``image``.

    ``relight`` in [0, 1] is how far the foreground moves toward the new sky's light: its
    linear colour is multiplied by (new sky mean / old sky mean) ** relight per channel.
    """
    h, w = image.shape[:2]
    if sky.shape != (h, w):
        raise ValueError("the sky mask does not match the image size")
    if not sky.any():
        raise NoSkyError("the sky mask is empty")
    if not 0.0 <= relight <= 1.0:
        raise ValueError("relight must be in [0, 1]")
    replacement = cv2.resize(
        np.ascontiguousarray(new_sky[:, :, :3]), (w, h), interpolation=cv2.INTER_AREA
    )
    if heading_deg:
        replacement = rotate_equirect(replacement, (float(heading_deg), 0.0, 0.0))
    lin = srgb_to_linear(image[:, :, :3])
    new_lin = srgb_to_linear(replacement)
    sr = np.broadcast_to(pixel_solid_angles(w, h), (h, w))
    lat = _lat_rows(h)[:, None]
    # compare the same part of the sphere: the upper hemisphere of the new panorama
    upper = np.broadcast_to(lat > 0, (h, w))
    gain = (_weighted_mean(new_lin, sr * upper) / _weighted_mean(lin, sr * sky)) ** relight
    fg = lin * gain.astype(np.float32)
    alpha = feathered_alpha(sky, feather_deg)[:, :, None]
    out = linear_to_srgb(new_lin * alpha + fg * (1.0 - alpha))
    if image.shape[2] > 3:
        out = np.concatenate([out, image[:, :, 3:]], axis=2)
    return out


def sky_iou(pred: NDArray[np.bool_], truth: NDArray[np.bool_]) -> float:
    """Solid-angle-weighted IoU of two equirect masks (IoU on the sphere)."""
    h, w = truth.shape
    sr = np.broadcast_to(pixel_solid_angles(w, h), (h, w))
    union = float((sr * (pred | truth)).sum())
    return 1.0 if union == 0 else float((sr * (pred & truth)).sum()) / union


def halo_width_deg(pred: NDArray[np.bool_], truth: NDArray[np.bool_], q: float = 95.0) -> float:
    """Width of the error band along the true skyline: the q-th percentile of the angular
    distance (degrees, on the sphere) from each wrong pixel to the nearest true boundary."""
    wrong = pred != truth
    if not wrong.any():
        return 0.0
    h, w = truth.shape
    boundary = truth ^ ndimage.binary_erosion(truth, np.ones((3, 3), bool), border_value=1)
    by, bx = np.nonzero(boundary)
    wy, wx = np.nonzero(wrong)
    if len(by) == 0:
        return 180.0
    vb = lonlat_to_vec((bx + 0.5) / w * 360 - 180, _lat_rows(h)[by])
    vw = lonlat_to_vec((wx + 0.5) / w * 360 - 180, _lat_rows(h)[wy])
    chord, _ = cKDTree(vb).query(vw)
    angles = np.degrees(2 * np.arcsin(np.clip(chord / 2, 0, 1)))
    return float(np.percentile(angles, q))
