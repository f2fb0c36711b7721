"""Recover linear HDR radiance from one 8- or 16-bit equirectangular panorama.

Steps (each documented in its module):

1. **Linearise** with the given or estimated camera response (:mod:`.response`).
2. **Clipped pixels**, per channel: code values at or above the clip level. Connected clipped
   regions are found on the sphere (joined across the ±180° seam).
3. **Sky or not**: unclipped sky-like pixels (above the horizon, smooth, not dark) are fitted
   with the sky model of :mod:`.sky`. The sun is sought in the largest clipped blob above the
   horizon when it is compact: the fit starts once at the point estimated deepest into
   saturation from the slopes of its sky border (:mod:`.sun`) and once at the blob's
   centroid, and the start whose model explains the sky round it better is kept. Both fits
   hold the model at or above what the blob's clipped pixels recorded (they are censored, not
   measured). The scene counts as outdoor (``scene="auto"``) when the model
   explains the sky pixels well and they cover enough of the sky. The sun's blob is rebuilt
   from the model when the fit keeps a sun lobe.
4. **Everything else clipped** gets a smooth expand bump: ``Δ log L = −κ`` inside, ``κ`` set
   per region so the bump leaves the border with the slope the unclipped ring shows, its peak
   capped at ``max_boost_ev`` stops above the clip level (plausible energy, no invented suns).
5. **Join** both to the unclipped border in the gradient domain on the sphere (:mod:`.fill`);
   clipped channels never come out below the clip level.

With a registered ``hdr`` model (``fill_model``; contract in
:mod:`inference.model_contracts`), steps 3–5 are the model's instead: it sees the linearised
panorama and the clip mask at its own width; its radiance, upsampled in log (wrapping at the
seam), replaces each clipped channel, blended in log from the linearised input at the border
to the model's value ``band`` pixels inside (:func:`model_blend_band`) — unclipped channels
stay exactly the linearised input and the border has no step.

Units: linear radiance where 1.0 is the camera's clipping point at this exposure.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from threadpoolctl import threadpool_limits

from inference.prelabel.merge import pixel_solid_angles
from label360.sphere.contours import seam_components
from label360.sphere.projection import equirect_directions

from .choices import RESPONSES, SCENES
from .fill import FillProblem, dilate_wrapped, fill_log, ring_labels
from .response import Response, estimate_response
from .sky import SkyModel, fit_sky
from .sun import sun_in_blob

__all__ = [
    "FillModel",
    "RecoverOptions",
    "Recovery",
    "InputError",
    "model_blend_band",
    "recover_hdr",
    "RESPONSES",
    "SCENES",
]

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
MAX_PIXELS = 16384 * 8192
_SUN_BLOB_DEG = 20.0  # largest clipped-blob radius taken as the sun's
_SUN_FIT_DEG = 45.0  # the sky model is fitted this far beyond the sun blob
_OUTDOOR_RMS = 0.45  # log-RMS of the sky fit up to which a scene counts as outdoor
_PROXY_MIN = 0.05  # linear level (of the clip) below which a channel guides no gradient
_SUN_WIDTH = 1024  # the sun is located at most this wide (0.35° pixels)
_FLOOR_WEIGHT = 3.0  # the sun blob's clipped pixels (a lower bound) against the sky's weight 1


class InputError(ValueError):
    """The image cannot be recovered (the message says why, for people)."""


class FillModel(Protocol):
    """A clipped-region model (e.g. :class:`inference.model_contracts.HdrModel`): it runs at
    ``width`` × ``width / 2`` on linear radiance (H, W, 3) and the clip mask (H, W) in [0, 1]
    and returns linear radiance (H, W, 3) ≥ 0."""

    width: int

    def reconstruct(self, radiance: NDArray, mask: NDArray) -> NDArray: ...


@dataclass(frozen=True)
class RecoverOptions:
    response: str = "estimate"  # estimate | srgb | gamma
    gamma: float = 2.2  # for response="gamma"
    #: code values at or above this fraction of the maximum count as clipped (JPEG rings
    #: just below 255, so 8-bit uses 250/255 by default)
    clip_level: float = 250 / 255
    scene: str = "auto"  # auto | outdoor | indoor
    max_boost_ev: float = 3.0
    work_width: int = 512
    refine_iterations: int = 40

    def __post_init__(self) -> None:
        if self.response not in RESPONSES:
            raise ValueError(f"response must be one of {RESPONSES}")
        if self.scene not in SCENES:
            raise ValueError(f"scene must be one of {SCENES}")
        if not 0.5 <= self.clip_level <= 1.0:
            raise ValueError("clip_level must be in 0.5..1")
        if not 0.0 <= self.max_boost_ev <= 12.0:
            raise ValueError("max_boost_ev must be in 0..12")
        if not 64 <= self.work_width <= 2048 or self.work_width % 2:
            raise ValueError("work_width must be an even number in 64..2048")


@dataclass
class Recovery:
    radiance: NDArray  # (H, W, 3) float32, 1.0 = the clipping point
    response: Response
    clipped: NDArray  # (H, W, 3) bool: the pixels that were rebuilt, per channel
    sky_region: NDArray  # (H, W) bool: clipped pixels rebuilt from the sky model
    sky: SkyModel | None
    info: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    @property
    def sun(self) -> NDArray | None:
        """The sun direction (unit vector) when a clipped sun was found and rebuilt."""
        if self.sky is None or not self.sky.info.get("has_lobe") or not self.sky_region.any():
            return None
        return self.sky.sun


def _codes(image: NDArray) -> tuple[NDArray, int]:
    """Validate the input; (H, W, 3) integer codes and the maximum code."""
    image = np.asarray(image)
    if np.issubdtype(image.dtype, np.floating):
        raise InputError(
            "the image is already high dynamic range (floating-point radiance): there is "
            "nothing to recover; use its radiance as is"
        )
    if image.dtype not in (np.uint8, np.uint16):
        raise InputError(f"expected 8- or 16-bit codes, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise InputError(f"expected an RGB image, got shape {image.shape}")
    h, w = image.shape[:2]
    if h < 8 or w < 16:
        raise InputError(f"image too small ({w}×{h}); at least 16×8 pixels")
    if w != 2 * h:
        raise InputError(f"not an equirectangular panorama: {w}×{h} is not 2:1")
    if h * w > MAX_PIXELS:
        raise InputError(f"image too large ({w}×{h})")
    return np.ascontiguousarray(image[:, :, :3]), 255 if image.dtype == np.uint8 else 65535


def _check_content(codes: NDArray, maxcode: int, clip_code: int) -> None:
    dark = codes.max(axis=2) <= max(2, maxcode // 128)
    clipped = codes.min(axis=2) >= clip_code
    n = dark.size
    if dark.sum() >= 0.995 * n:
        raise InputError("the image is black: there is no light to recover radiance from")
    if clipped.sum() >= 0.99 * n:
        raise InputError(
            "the image is white (fully saturated): nothing unclipped is left to recover from"
        )
    if (dark | clipped).sum() >= 0.995 * n:
        raise InputError(
            "the image is only black and saturated pixels: no usable tones to recover from"
        )


def _linearise(codes: NDArray, maxcode: int, response: Response) -> NDArray:
    lut = response.lut(maxcode + 1)
    return lut[codes]


def _resize_area(image: NDArray, width: int) -> NDArray:
    return cv2.resize(image, (width, width // 2), interpolation=cv2.INTER_AREA)


def _upsample_nearest(mask: NDArray, width: int) -> NDArray:
    out = cv2.resize(mask.astype(np.uint8), (width, width // 2), interpolation=cv2.INTER_NEAREST)
    return out.astype(bool)


def _log_gradient(log_lum: NDArray) -> NDArray:
    """|∇ log L| per radian on the sphere (east difference scaled by 1/cos(lat)), wrapped."""
    h, w = log_lum.shape
    step = math.pi / h
    lat = math.pi / 2 - (np.arange(h) + 0.5) * step
    gx = (np.roll(log_lum, -1, axis=1) - np.roll(log_lum, 1, axis=1)) / (2 * step)
    gx /= np.maximum(np.cos(lat), 1e-3)[:, None]
    gy = np.zeros_like(log_lum)
    gy[1:-1] = (log_lum[2:] - log_lum[:-2]) / (2 * step)
    return np.hypot(gx, gy)


def _sky_candidates(small: NDArray, clipped: NDArray, lat: NDArray) -> NDArray:
    """Unclipped pixels that look like sky: above the horizon, smooth, not dark."""
    lum = small @ LUMA
    log_lum = np.log(np.maximum(lum, 1e-6))
    grad = _log_gradient(log_lum)
    h, w = lum.shape
    pixel = math.pi / h
    upper = (lat > math.radians(1.0))[:, None] & ~clipped  # the ground never counts
    if not upper.any():
        return upper
    bright = lum > 0.04  # of the clipping level; sky is rarely darker at a usable exposure
    smooth = grad * pixel < 0.08  # under 8 % change per work pixel
    return upper & bright & smooth & (small.min(axis=2) > 1e-4)


def _smooth_wrapped(image: NDArray, sigma: float) -> NDArray:
    """Gaussian blur of an equirect (H, W) image, columns wrapping at the seam."""
    r = int(math.ceil(3 * sigma)) + 1
    pad = np.concatenate([image[:, -r:], image, image[:, :r]], axis=1)
    return cv2.GaussianBlur(pad, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)[:, r:-r]


def _locate_sun(lin: NDArray, any_clipped: NDArray, labels: NDArray, label: int) -> NDArray | None:
    """The sun in clipped region ``label`` (of the work-level ``labels``), by
    :func:`.sun.sun_in_blob` at up to ``_SUN_WIDTH`` pixels wide; None when its sky border is
    too short (the caller keeps the blob's centroid)."""
    h, w = any_clipped.shape
    sw = min(w, _SUN_WIDTH)
    sh = sw // 2
    if sw < w:
        lin_s = _resize_area(lin, sw)
        clip_s = _resize_area(any_clipped.astype(np.float32), sw) > 0
    else:
        lin_s, clip_s = lin, any_clipped
    near = cv2.resize(labels.astype(np.float32), (sw, sh), interpolation=cv2.INTER_NEAREST)
    blob = (near.astype(np.int32) == label) & clip_s
    if not blob.any():
        return None
    lat = math.pi / 2 - (np.arange(sh) + 0.5) * math.pi / sh
    sky_like = _sky_candidates(lin_s, clip_s, lat)
    ring = dilate_wrapped(blob, 3) & ~dilate_wrapped(blob, 1) & sky_like
    # the slope a pixel or two off the border, lightly smoothed: 8-bit steps are noisy
    log_lum = np.log(np.maximum(lin_s @ LUMA, 1e-6)).astype(np.float32)
    slope = _log_gradient(_smooth_wrapped(log_lum, 1.0))
    dirs = equirect_directions(sw, sh).reshape(sh, sw, 3)
    return sun_in_blob(dirs, blob, ring, slope, pixel_solid_angles(sw, sh))


def recover_hdr(
    image: NDArray,
    options: RecoverOptions | None = None,
    progress: Callable[[float, str], None] | None = None,
    response: Response | None = None,
    fill_model: FillModel | None = None,
) -> Recovery:
    """Radiance from an 8/16-bit equirect panorama (see the module docstring).

    ``response`` (e.g. a measured ``table`` curve) overrides ``options.response``;
    ``fill_model`` rebuilds the clipped regions instead of the sky model and expand bumps.
    """
    # every product here is small (3-vectors, sparse rows): BLAS threads only contend, and on
    # a busy machine their hand-offs cost 100× the work (measured: a 50 k dot 7 ms vs 0.05 ms)
    with threadpool_limits(limits=1, user_api="blas"):
        return _recover(image, options or RecoverOptions(), progress, response, fill_model)


def _resample_wrapped(image: NDArray, width: int) -> NDArray:
    """Bilinear resampling of an equirect (h, w, C) image to ``width`` × ``width / 2``,
    columns wrapping at the ±180° seam (rows clamp at the poles)."""
    h, w = image.shape[:2]
    height = width // 2
    xs = ((np.arange(width, dtype=np.float32) + 0.5) * (w / width) - 0.5).astype(np.float32)
    ys = ((np.arange(height, dtype=np.float32) + 0.5) * (h / height) - 0.5).astype(np.float32)
    ys = np.clip(ys, 0.0, h - 1.0)
    map_x = np.broadcast_to(xs[None, :], (height, width)).astype(np.float32)
    map_y = np.broadcast_to(ys[:, None], (height, width)).astype(np.float32)
    return cv2.remap(
        np.ascontiguousarray(image), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP
    )


def _model_guide(lin: NDArray, any_clipped: NDArray, model: FillModel) -> NDArray:
    """The model's log radiance (H, W, 3) at the panorama's size: run at the model's width
    (area-averaged radiance and clip fraction), upsampled in log, wrapping at the seam."""
    h, w = any_clipped.shape
    mw = int(model.width)
    mask = any_clipped.astype(np.float32)
    if mw < w:
        small, small_mask = _resize_area(lin, mw), _resize_area(mask, mw)
    elif mw > w:
        small, small_mask = _resample_wrapped(lin, mw), _resample_wrapped(mask[:, :, None], mw)
    else:
        small, small_mask = lin, mask
    small_mask = np.clip(small_mask.reshape(mw // 2, mw), 0.0, 1.0).astype(np.float32)
    out = model.reconstruct(np.ascontiguousarray(small, dtype=np.float32), small_mask)
    log_out = np.log(np.maximum(out, 1e-6)).astype(np.float32)
    return log_out if mw == w else _resample_wrapped(log_out, w)


def _recover(
    image: NDArray,
    options: RecoverOptions,
    progress: Callable[[float, str], None] | None,
    response: Response | None,
    fill_model: FillModel | None = None,
) -> Recovery:
    report = progress or (lambda _f, _m: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    codes, maxcode = _codes(image)
    clip_code = int(math.ceil(options.clip_level * maxcode - 1e-9))
    _check_content(codes, maxcode, clip_code)
    h, w = codes.shape[:2]

    # 1. response
    t = time.perf_counter()
    if response is not None:
        pass
    elif options.response == "srgb":
        response = Response("srgb")
    elif options.response == "gamma":
        response = Response("gamma", float(options.gamma))
    else:
        step = max(1, w // 2048)  # edges are read at ≤ 2048 px: enough samples, bounded time
        sample = codes[::step, ::step] if step > 1 else codes
        response = estimate_response(sample.astype(np.float32) / maxcode)
    lin = _linearise(codes, maxcode, response)
    timings["response"] = time.perf_counter() - t
    report(0.15, f"response: {response.describe()}")

    clipped = codes >= clip_code  # (H, W, 3)
    any_clipped = clipped.any(axis=2)
    info: dict = {
        "width": w,
        "height": h,
        "clip_code": clip_code,
        "response": response.as_dict(),
    }
    sr_full = pixel_solid_angles(w, h)
    info["clipped_fraction"] = float((any_clipped * sr_full).sum() / (4 * math.pi))
    if not any_clipped.any():
        info["scene"] = "nothing clipped"
        timings["total"] = time.perf_counter() - t0
        return Recovery(
            lin, response, clipped, np.zeros((h, w), bool), None, info=info, timings=timings
        )

    if fill_model is not None:
        return _recover_with_model(
            lin, codes, clip_code, maxcode, clipped, response, fill_model, options, info,
            timings, t0, report,
        )  # fmt: skip

    # 2. work level: linear radiance, clipped mask (a block with any clipped pixel is clipped)
    t = time.perf_counter()
    ww = min(options.work_width, w)
    small = _resize_area(lin, ww)
    small_clip = _resize_area(any_clipped.astype(np.float32), ww) > 0
    sh = ww // 2
    lat = math.pi / 2 - (np.arange(sh) + 0.5) * math.pi / sh
    dirs = equirect_directions(ww, sh).reshape(sh, ww, 3)
    sr = np.broadcast_to(pixel_solid_angles(ww, sh), (sh, ww))
    labels, count = seam_components(small_clip)
    index = np.arange(1, count + 1)
    comp_sr = ndimage.sum_labels(sr, labels, index)
    centroid = np.stack(
        [ndimage.sum_labels(sr * dirs[:, :, k], labels, index) for k in range(3)], axis=1
    )
    centroid /= np.maximum(np.linalg.norm(centroid, axis=1, keepdims=True), 1e-12)
    comp_lat = np.degrees(np.arcsin(np.clip(centroid[:, 1], -1, 1)))
    timings["regions"] = time.perf_counter() - t

    # 3. sky model
    t = time.perf_counter()
    candidates = _sky_candidates(small, small_clip, lat)
    upper_sr = float(sr[: sh // 2].sum())
    coverage = float((sr * candidates).sum()) / upper_sr
    sky: SkyModel | None = None
    outdoor = False
    sun_label = 0
    if options.scene != "indoor" and candidates.sum() >= 50:
        above = np.nonzero(comp_lat >= -5.0)[0]
        sun_guess = None
        starts: list[tuple[NDArray, str]] = []
        rng = np.random.default_rng(0)
        best = above[np.argmax(comp_sr[above])] if len(above) else -1
        # only a compact blob is centred on the sun (a wide clipped dawn sky is not)
        if best >= 0 and math.sqrt(comp_sr[best] / math.pi) <= math.radians(_SUN_BLOB_DEG):
            sun_label = int(best) + 1
            located = _locate_sun(lin, any_clipped, labels, sun_label)
            sun_guess = centroid[best]
            if located is not None:
                starts.append((located.astype(np.float32), "deepest into saturation"))
            starts.append((centroid[best], "blob centroid"))
        core = max(math.radians(0.5), math.pi / h)
        reach = math.sqrt(comp_sr[best] / math.pi) if sun_guess is not None else 0.0
        floor = {}
        if sun_guess is not None:
            fy, fx = np.nonzero(labels == sun_label)
            take = rng.choice(len(fy), min(len(fy), 1000), replace=False)
            fy, fx = fy[take], fx[take]
            floor = {
                "floor_dirs": dirs[fy, fx],
                "floor_lum": small[fy, fx] @ LUMA,
                "floor_weight": _FLOOR_WEIGHT,
            }
        # the deepest point of the blob and its centroid each start a fit on the sky round
        # them; the one whose model explains its sky better is kept (a haze-bright border can
        # mislead the first, an occluder always biases the second)
        fits = []
        for start, source in starts or [(None, "")]:
            fit_mask = candidates
            if start is not None:
                # the sky that is extrapolated into the blob: its surroundings, not the far side
                around = reach + math.radians(_SUN_FIT_DEG)
                near = (dirs @ start.astype(np.float32)) > math.cos(min(around, math.pi))
                if (candidates & near).sum() >= 200:
                    fit_mask = candidates & near
            ys, xs = np.nonzero(fit_mask)
            pick = np.random.default_rng(0).choice(len(ys), min(len(ys), 4000), replace=False)
            ys, xs = ys[pick], xs[pick]
            model = fit_sky(dirs[ys, xs], small[ys, xs], sr[ys, xs], start, core, reach, **floor)
            fits.append((model, source))
        sky, sun_source = min(fits, key=lambda f: f[0].info["fit_log_rms"])
        fit_ok = sky.info["fit_log_rms"] <= _OUTDOOR_RMS and coverage >= 0.05
        outdoor = options.scene == "outdoor" or fit_ok
        sky.info["sky_coverage"] = round(coverage, 4)
        if sun_source:
            sky.info["sun_start"] = sun_source
            sky.info["sun_start_rms"] = {src: f.info["fit_log_rms"] for f, src in fits}
    info["scene"] = "outdoor" if outdoor else "indoor"
    timings["sky fit"] = time.perf_counter() - t
    report(0.4, f"scene: {info['scene']}")

    # the sun's blob follows the sky model; every other clipped region (bright clouds, walls,
    # lamps, a wide clipped dawn sky) gets the expand bump — measured better there
    ring = ring_labels(labels, 2)
    ring_sr = ndimage.sum_labels(sr, ring, index)
    comp_is_sky = np.zeros(count + 1, bool)
    if outdoor and sun_label and sky is not None and sky.info["has_lobe"]:
        comp_is_sky[sun_label] = True

    # 4. expand bumps for the other regions: κ from the ring's slope, peak capped
    log_small = np.log(np.maximum(small @ LUMA, 1e-6))
    grad = _log_gradient(log_small)
    slope = ndimage.sum_labels(sr * grad, ring, index) / np.maximum(ring_sr, 1e-30)
    radius = np.sqrt(comp_sr / math.pi)
    peak = np.minimum(slope * radius / 2.0, options.max_boost_ev * math.log(2.0))
    kappa = np.zeros(count + 1, np.float32)
    kappa[1:] = np.where(comp_is_sky[1:], 0.0, 4.0 * peak / np.maximum(radius * radius, 1e-12))

    # 5. per channel, in the gradient domain
    t = time.perf_counter()
    labels_full = cv2.resize(labels.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
    labels_full = labels_full.astype(np.int32) * any_clipped
    sky_full = comp_is_sky[labels_full] & any_clipped
    source = kappa[labels_full].astype(np.float32)
    guide = np.zeros((h, w, 3), np.float32)
    if sky is not None and sky_full.any():
        # the model's log radiance where sky regions and their borders are (elsewhere unused)
        near = dilate_wrapped(sky_full, 2)
        rows = np.nonzero(near.any(axis=1))[0]
        r0, r1 = rows[0], rows[-1] + 1
        band_dirs = equirect_directions(w, h).reshape(h, w, 3)[r0:r1]
        model = sky.radiance(band_dirs)
        guide[r0:r1] = np.log(np.maximum(model, 1e-9))
    radiance = lin.copy()
    floor = float(response.inverse(np.float32(clip_code / maxcode)))
    log_lin = np.log(np.maximum(lin, 1e-6)).astype(np.float32)
    for ch in range(3):
        unknown = clipped[:, :, ch]
        if not unknown.any():
            continue
        # the proxy: the other channel least clipped where this one is (its gradients carry
        # the shape of the highlight until it clips too)
        others = [o for o in range(3) if o != ch]
        proxy = min(others, key=lambda o: int(clipped[:, :, o][unknown].sum()))
        problem = FillProblem(
            observed=log_lin[:, :, ch],
            known=~unknown,
            guide=guide[:, :, ch],
            modelled=sky_full,
            source=np.where(clipped[:, :, proxy], source, np.float32(0)),
            proxy=log_lin[:, :, proxy],
            # dark codes are quantisation noise in log: no guidance from them
            proxy_known=~clipped[:, :, proxy] & (lin[:, :, proxy] >= _PROXY_MIN),
        )
        x = fill_log(problem, options.work_width, options.refine_iterations)
        value = np.maximum(np.exp(x[unknown]), floor)
        radiance[:, :, ch][unknown] = value
        report(0.45 + 0.15 * (ch + 1), f"channel {'RGB'[ch]} filled")
    timings["fill"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    info["regions"] = int(count)
    info["sky_regions"] = int(comp_is_sky.sum())
    if sky is not None:
        info["sky"] = sky.as_dict()
    return Recovery(radiance, response, clipped, sky_full, sky if outdoor else None, info, timings)


def _distance_wrapped(inside: NDArray, cap: int) -> NDArray:
    """Euclidean distance in pixels (up to ``cap``) from each ``inside`` pixel to the nearest
    pixel outside, columns wrapping at the seam; 0 outside."""
    r = int(cap) + 1
    pad = np.concatenate([inside[:, -r:], inside, inside[:, :r]], axis=1).astype(np.uint8)
    dist = cv2.distanceTransform(pad, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[:, r:-r]
    return np.minimum(dist, np.float32(cap)).astype(np.float32)


def model_blend_band(width: int, model_width: int) -> int:
    """Pixels (at ``width``) over which a model's radiance takes over from the border: two
    model pixels (its clip mask is area-averaged and its output bilinearly upsampled), plus
    one."""
    return 2 * max(1, round(width / max(int(model_width), 1))) + 1


def _recover_with_model(
    lin: NDArray,
    codes: NDArray,
    clip_code: int,
    maxcode: int,
    clipped: NDArray,
    response: Response,
    model: FillModel,
    options: RecoverOptions,
    info: dict,
    timings: dict,
    t0: float,
    report: Callable[[float, str], None],
) -> Recovery:
    """Steps 3–5 with a registered model: its radiance in the clipped pixels, blended in log
    from the linearised input at the border to the model's own values ``band`` pixels in."""
    h, w = codes.shape[:2]
    any_clipped = clipped.any(axis=2)
    t = time.perf_counter()
    guide = _model_guide(lin, any_clipped, model)
    timings["model"] = time.perf_counter() - t
    report(0.4, f"model ran at {model.width}×{model.width // 2}")
    t = time.perf_counter()
    radiance = lin.copy()
    floor = float(response.inverse(np.float32(clip_code / maxcode)))
    band = model_blend_band(w, model.width)
    for ch in range(3):
        unknown = clipped[:, :, ch]
        if not unknown.any():
            continue
        # α rises smoothly from ~0 next to the unclipped pixels of this channel (the border
        # keeps the input's level: no step) to 1 at ``band`` pixels (the model's value)
        ramp = np.clip((_distance_wrapped(unknown, band + 1)[unknown] - 0.5) / band, 0.0, 1.0)
        alpha = ramp * ramp * (3.0 - 2.0 * ramp)
        log_in = np.log(np.maximum(lin[:, :, ch][unknown], 1e-6))
        value = np.exp((1.0 - alpha) * log_in + alpha * guide[:, :, ch][unknown])
        radiance[:, :, ch][unknown] = np.maximum(value, floor)
        report(0.45 + 0.15 * (ch + 1), f"channel {'RGB'[ch]} taken from the model")
    timings["blend"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    info["scene"] = "not classified (model fill)"
    info["fill"] = {"method": "model", "width": int(model.width), "blend_band_px": band}
    return Recovery(radiance, response, clipped, np.zeros((h, w), bool), None, info, timings)
