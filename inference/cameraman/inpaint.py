"""Inpainting of one (large) hole in a flat image, coarse to fine.

Methods (``InpaintOptions.method``):

* ``"blend"`` (default) — structure and texture: the structure-guided smooth fill
  (:mod:`inference.cameraman.structure`: diffusion along the edges round the hole, the
  harmonic fill where there are none) plus the exemplar fill's detail finer than a Gaussian
  of ``detail_sigma`` pixels. On real ground the smooth fill predicts the hidden pixels better
  than copied patches do (what lies under a tripod cannot be known, and a wrong patch costs
  twice the variance of a smooth guess); the exemplar's fine detail keeps the fill from
  looking flat.
* ``"patch"`` — exemplar-based completion (Wexler et al. 2007) with PatchMatch
  search (:mod:`inference.cameraman.patchmatch`), on an image pyramid:

  1. the image is reduced until the hole's inscribed radius is at most ``coarse_radius``
     pixels; there the hole is **shrunk from its border inwards** in bands of ``band``
     pixels (each band is matched against the known and already filled pixels only, then
     becomes known), starting from a Telea fill only as the first guess;
  2. a few expectation–maximisation iterations (search, then vote) make the fill coherent;
  3. each finer level starts from the coarser field (offsets doubled) and refines with fewer
     iterations, searching only near the doubled offsets — full resolution gets
     ``fine_iterations`` (default 0: the upsampled field only votes);
  4. **copy, not average** (``copy_patches``, the default): at the coarsest level each band
     pixel takes the centre of its own best match and the EM votes copy, and at full size
     every pixel takes its value from the covering patch that matches best (Newson et al.
     2014 do the latter). The weighted mean of all covering patches — the classic vote, kept
     on the levels between — is the least-squares answer, and on a large hole it is also an
     attractor: the mean of patches that disagree is smooth, smooth patches then match the
     smoothest sources, and the middle of a 30° cap comes out flat;
  5. a **membrane correction** (the smooth part): the difference between the known pixels
     round the hole and what the patches say they should be is interpolated smoothly
     (push–pull) into the hole and added, so low frequencies meet the border without a seam.

* ``"smooth"`` — the structure-guided smooth fill alone (no texture).
* ``"model"`` — a TorchScript inpainting network (:class:`ModelInpainter`) on a reduced copy,
  upsampled, with the same membrane correction at full resolution.

All methods take float32 (H, W, C) images and a bool hole and return a float32 image that
equals the input outside the hole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from . import patchmatch as pm
from .choices import EXEMPLAR_METHODS, METHODS
from .structure import structure_fill

Progress = Callable[[float, str], None]


class InpaintError(ValueError):
    """The hole cannot be filled (e.g. it covers the whole image)."""


@dataclass(frozen=True)
class InpaintOptions:
    method: str = "blend"
    patch: int = 7  # patch side in pixels (odd)
    coarse_radius: int = 12  # inscribed hole radius (px) at the coarsest level
    band: int = 3  # onion-peel band width at the coarsest level (px)
    coarse_iterations: int = 6
    fine_iterations: int = 0  # search passes at full size (0: the upsampled field votes)
    fine_radius: int = 8  # random-search radius (px) above the coarsest level
    membrane: bool = True
    copy_patches: bool = True  # coarsest level and full size copy the best patch (see above)
    detail_sigma: float = 2.0  # px: the exemplar gives what is finer than this blur
    structure_sigma: float = 3.0  # px: window of the structure tensor guiding the smooth fill
    seed: int = 0


def _run_starts(ty: NDArray, runs: int = 16) -> NDArray:
    """Split raster-ordered targets into about ``runs`` runs of whole rows (a fixed number,
    not one per thread, so results do not depend on the machine)."""
    n = ty.shape[0]
    row_starts = np.flatnonzero(np.r_[True, ty[1:] != ty[:-1]])
    wanted = (np.arange(runs) * n) // runs
    picks = row_starts[np.minimum(np.searchsorted(row_starts, wanted), row_starts.size - 1)]
    return np.unique(np.r_[picks, n]).astype(np.int64)


def _square(size: int) -> NDArray:
    return np.ones((size, size), np.uint8)


def _push_pull(values: NDArray, known: NDArray) -> NDArray:
    """A smooth interpolation of ``values`` (given where ``known``) everywhere: averages are
    pushed down a pyramid and pulled back up; known pixels keep their values."""
    v = values * known[..., None]
    w = known.astype(np.float32)
    pyramid = [(v, w)]
    while min(v.shape[:2]) > 2:
        h, wd = v.shape[:2]
        size = (max(1, wd // 2), max(1, h // 2))
        v = cv2.resize(v, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
        w = cv2.resize(w, size, interpolation=cv2.INTER_AREA)
        pyramid.append((v, w))
    v, w = pyramid[-1]
    mean = v.reshape(-1, v.shape[2]).sum(0) / max(float(w.sum()), 1e-12)
    filled = np.where(w[..., None] > 0, v / np.maximum(w, 1e-12)[..., None], mean)
    for v, w in reversed(pyramid[:-1]):
        h, wd = v.shape[:2]
        up = cv2.resize(filled, (wd, h), interpolation=cv2.INTER_LINEAR).reshape(h, wd, -1)
        alpha = np.clip(w * 4.0, 0.0, 1.0)[..., None]
        filled = alpha * (v / np.maximum(w, 1e-12)[..., None]) + (1.0 - alpha) * up
    return filled.astype(np.float32)


class _Level:
    """One pyramid level: image, hole, targets, valid sources and the field."""

    def __init__(self, img: NDArray, hole: NDArray, r: int, seed: int = 0, copy: bool = False):
        self.img = np.ascontiguousarray(img, dtype=np.float32)
        self.copy = copy  # votes copy the best covering patch instead of averaging them
        self.hole = hole
        self.r = r
        h, w = hole.shape
        interior = np.zeros((h, w), bool)
        interior[r : h - r, r : w - r] = True
        size = 2 * r + 1
        self.is_target = (cv2.dilate(hole.astype(np.uint8), _square(size)) > 0) & interior
        known = (~hole).astype(np.uint8)
        self.valid_src = (cv2.erode(known, _square(size), borderValue=0) > 0) & interior
        if not self.valid_src.any():
            raise InpaintError("the hole leaves no complete patch of known pixels to copy from")
        self.ty, self.tx = (a.astype(np.int64) for a in np.nonzero(self.is_target))
        self.nnf_y = np.zeros((h, w), np.int32)
        self.nnf_x = np.zeros((h, w), np.int32)
        self.dist = np.zeros((h, w), np.float32)
        self.hy, self.hx = (a.astype(np.int64) for a in np.nonzero(hole))
        self.radius = max(h, w)
        self.seed = int(seed) * 1_000_003 + h * 7919 + w
        self.passes = 0

    def next_seed(self) -> int:
        self.passes += 1
        return (self.seed * 6364136223846793005 + self.passes) % (1 << 63)

    def random_field(self) -> None:
        pm.init_random(self.valid_src, self.ty, self.tx, self.nnf_y, self.nnf_x, self.next_seed())

    def search(self, conf: NDArray, passes: int, targets=None) -> None:
        ty, tx = targets if targets is not None else (self.ty, self.tx)
        if ty.size == 0:
            return
        pm.distances(self.img, conf, ty, tx, self.nnf_y, self.nnf_x, self.r, self.dist)
        for p in range(passes):
            pm.search(self.img, conf, self.valid_src, self.is_target_for(ty, tx), ty, tx,
                      self.nnf_y, self.nnf_x, self.dist, self.r, self.radius, p % 2 == 1,
                      _run_starts(ty), self.next_seed())  # fmt: skip

    def is_target_for(self, ty: NDArray, tx: NDArray) -> NDArray:
        if ty is self.ty:
            return self.is_target
        mask = np.zeros_like(self.is_target)
        mask[ty, tx] = True
        return mask

    def weights(self, is_target: NDArray) -> NDArray:
        d = self.dist[is_target]
        scale = float(np.percentile(d, 75)) if d.size else 1.0
        w = np.zeros_like(self.dist)
        w[is_target] = np.exp(-d / (2.0 * max(scale, 1e-6)))
        return w

    def vote(self, qy: NDArray, qx: NDArray, is_target: NDArray | None = None) -> NDArray:
        """What the target patches covering each query pixel say it should be: the best
        one's value (``copy``; needs current distances) or their weighted mean."""
        is_target = self.is_target if is_target is None else is_target
        out = np.empty((qy.shape[0], self.img.shape[2]), np.float32)
        if self.copy:
            pm.vote_best(self.img, is_target, self.nnf_y, self.nnf_x, self.dist, qy, qx, self.r,
                         out)  # fmt: skip
            return out
        pm.vote(self.img, is_target, self.nnf_y, self.nnf_x, self.weights(is_target), qy, qx,
                self.r, out)  # fmt: skip
        return out

    def em(self, iterations: int, start: int = 0) -> None:
        ones = np.ones(self.hole.shape, np.float32)
        for i in range(iterations):
            self.search(ones, 1 if i else 2)
            values = self.vote(self.hy, self.hx)
            ok = ~np.isnan(values[:, 0])
            self.img[self.hy[ok], self.hx[ok]] = values[ok]


def _levels_needed(hole: NDArray, coarse_radius: int, min_side: int) -> int:
    radius = float(cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5).max())
    levels = 0
    h, w = hole.shape
    while radius > coarse_radius and min(h, w) // 2 >= min_side:
        radius /= 2
        h, w = h // 2, w // 2
        levels += 1
    return levels


def _down(img: NDArray) -> NDArray:
    h, w = img.shape[:2]
    out = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return out.reshape(h // 2, w // 2, -1)


def _telea(img: NDArray, hole: NDArray) -> NDArray:
    """Telea fill of a float image (per channel through 8 bits of the local range)."""
    lo, hi = float(img[~hole].min()), float(img[~hole].max())
    scale = 255.0 / max(hi - lo, 1e-6)
    u8 = np.clip((img - lo) * scale, 0, 255).astype(np.uint8)
    if u8.shape[2] not in (1, 3):
        filled = np.stack(
            [cv2.inpaint(u8[..., c], hole.astype(np.uint8), 3, cv2.INPAINT_TELEA)
             for c in range(u8.shape[2])], axis=-1)  # fmt: skip
    else:
        filled = cv2.inpaint(u8, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    filled = filled.reshape(img.shape).astype(np.float32) / scale + lo
    out = img.copy()
    out[hole] = filled[hole]
    return out


def _onion(level: _Level, band: int, iterations: int) -> None:
    """Fill the coarsest hole band by band from the border inwards."""
    hole_u8 = level.hole.astype(np.uint8)
    depth = cv2.distanceTransform(hole_u8, cv2.DIST_L2, 5)
    conf = (~level.hole).astype(np.float32)
    level.random_field()
    k = 0
    while True:
        in_band = level.hole & (depth > k * band) & (depth <= (k + 1) * band)
        k += 1
        if not in_band.any():
            if (depth > k * band).any():
                continue
            break
        targets = in_band & level.is_target
        ty, tx = (a.astype(np.int64) for a in np.nonzero(targets))
        level.search(conf, max(2, iterations // 2), (ty, tx))
        qy, qx = (a.astype(np.int64) for a in np.nonzero(in_band))
        if level.copy:
            # a band pixel's own patch is centred on it: copy its best match's centre (the
            # partial distances of different band patches are not comparable); only band
            # pixels that are not targets (at the image's edge) are voted for
            own = targets[qy, qx]
            values = np.empty((qy.size, level.img.shape[2]), np.float32)
            values[own] = level.img[level.nnf_y[qy[own], qx[own]], level.nnf_x[qy[own], qx[own]]]
            values[~own] = level.vote(qy[~own], qx[~own], targets)
        else:
            values = level.vote(qy, qx, targets)
        ok = ~np.isnan(values[:, 0])
        level.img[qy[ok], qx[ok]] = values[ok]
        conf[in_band] = 1.0


def _upsample_field(coarse: _Level, fine: _Level) -> None:
    """Fine field from the coarse one: offsets doubled, invalid sources replaced at random."""
    ty, tx = fine.ty, fine.tx
    cy, cx = (
        np.minimum(ty // 2, coarse.hole.shape[0] - 1),
        np.minimum(tx // 2, coarse.hole.shape[1] - 1),
    )
    sy = coarse.nnf_y[cy, cx].astype(np.int64) * 2 + (ty % 2)
    sx = coarse.nnf_x[cy, cx].astype(np.int64) * 2 + (tx % 2)
    h, w = fine.hole.shape
    sy, sx = np.clip(sy, 0, h - 1), np.clip(sx, 0, w - 1)
    ok = coarse.is_target[cy, cx] & fine.valid_src[sy, sx]
    fine.random_field()
    fine.nnf_y[ty[ok], tx[ok]] = sy[ok]
    fine.nnf_x[ty[ok], tx[ok]] = sx[ok]


def _membrane(level: _Level) -> None:
    """Add the smooth interpolation of the border residual (known − voted) to the fill."""
    ring = (cv2.dilate(level.hole.astype(np.uint8), _square(3)) > 0) & ~level.hole
    qy, qx = (a.astype(np.int64) for a in np.nonzero(ring))
    if qy.size == 0:
        return
    voted = level.vote(qy, qx)
    ok = ~np.isnan(voted[:, 0])
    residual = np.zeros(level.img.shape, np.float32)
    known = np.zeros(level.hole.shape, bool)
    residual[qy[ok], qx[ok]] = level.img[qy[ok], qx[ok]] - voted[ok]
    known[qy[ok], qx[ok]] = True
    if not known.any():
        return
    y0, y1 = max(0, level.hy.min() - 2), level.hy.max() + 3
    x0, x1 = max(0, level.hx.min() - 2), level.hx.max() + 3
    smooth = _push_pull(residual[y0:y1, x0:x1], known[y0:y1, x0:x1])
    level.img[level.hy, level.hx] += smooth[level.hy - y0, level.hx - x0]


def inpaint_patch(
    image: NDArray, hole: NDArray, options: InpaintOptions, progress: Progress | None = None
) -> NDArray:
    """Exemplar completion of ``hole`` in ``image`` (float32 (H, W, C)); see module doc."""
    r = options.patch // 2
    levels = _levels_needed(hole, options.coarse_radius, 8 * options.patch)
    pyramid = [(image.astype(np.float32), hole)]
    for _ in range(levels):
        img, h = pyramid[-1]
        # a coarse pixel is a hole if any of its fine pixels is (never copy occluder pixels)
        coarse_hole = _down(h.astype(np.float32))[..., 0] > 0
        pyramid.append((_down(img), coarse_hole))
    previous: _Level | None = None
    total = len(pyramid)
    for depth, (img, h) in enumerate(reversed(pyramid)):
        if not h.any():
            continue
        finest = depth == total - 1
        copy = options.copy_patches and (previous is None or finest)
        level = _Level(img.copy(), h, r, options.seed, copy)
        if previous is None:
            level.img = np.ascontiguousarray(_telea(level.img, h))
            _onion(level, options.band, options.coarse_iterations)
            level.em(options.coarse_iterations)
        else:
            _upsample_field(previous, level)
            up = cv2.resize(previous.img, (h.shape[1], h.shape[0]), interpolation=cv2.INTER_LINEAR)
            up = up.reshape(level.img.shape)
            level.img[level.hy, level.hx] = up[level.hy, level.hx]
            if copy:
                # the best match is the one that agrees best with the coarse fill: the coarse
                # level chose the structure, full size only adds its detail
                ones = np.ones(h.shape, np.float32)
                pm.distances(level.img, ones, level.ty, level.tx, level.nnf_y, level.nnf_x, r,
                             level.dist)  # fmt: skip
            values = level.vote(level.hy, level.hx)
            bad = np.isnan(values[:, 0])
            values[bad] = up[level.hy[bad], level.hx[bad]]
            level.img[level.hy, level.hx] = values
            # the coarse field already holds the structure: finer levels search locally
            # round the doubled offsets, and full size by default only votes
            level.radius = options.fine_radius
            iterations = (
                options.fine_iterations
                if finest
                else max(1, options.coarse_iterations // (2**depth))
            )
            level.em(iterations)
        previous = level
        if progress:
            progress((depth + 1) / total, f"level {depth + 1}/{total}")
    if previous is None:
        return image.astype(np.float32)
    if options.membrane:
        _membrane(previous)
    out = image.astype(np.float32).copy()
    out[hole] = previous.img[hole]
    return out


def inpaint_blend(
    image: NDArray, hole: NDArray, options: InpaintOptions, progress: Progress | None = None
) -> NDArray:
    """Structure and texture: the structure-guided smooth fill plus the exemplar fill's
    detail finer than ``options.detail_sigma`` (the exemplar minus its Gaussian blur)."""
    exemplar = inpaint_patch(image, hole, replace(options, membrane=False), progress)
    base = structure_fill(image, hole, options.structure_sigma)
    sigma = max(float(options.detail_sigma), 0.3)
    detail = exemplar - cv2.GaussianBlur(exemplar, (0, 0), sigma).reshape(exemplar.shape)
    out = image.astype(np.float32).copy()
    out[hole] = (base + detail)[hole]
    return out


class ModelInpainter:
    """A TorchScript inpainting network: ``model(image, mask) -> image`` with image a float
    (1, 3, S, S) tensor in 0–1 (normalised by ``mean``/``std`` when given), mask (1, 1, S, S)
    with 1 in the hole; the output is (1, 3, S, S) in the same normalisation."""

    def __init__(self, module, input_size: int, mean=None, std=None, name: str = "model"):
        self.module = module
        self.input_size = int(input_size)
        self.mean = np.asarray(mean if mean else [0, 0, 0], np.float32)
        self.std = np.asarray(std if std else [1, 1, 1], np.float32)
        self.name = name

    @classmethod
    def from_weights(cls, weights) -> ModelInpainter:
        import io

        import torch

        weights.file.open("rb")
        try:
            module = torch.jit.load(io.BytesIO(weights.file.read()), map_location="cpu")
        finally:
            weights.file.close()
        module.eval()
        return cls(module, weights.input_size, weights.mean, weights.std, str(weights))

    def __call__(self, rgb01: NDArray, hole: NDArray) -> NDArray:
        import torch

        h, w = hole.shape
        s = self.input_size
        small = cv2.resize(rgb01, (s, s), interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole.astype(np.float32), (s, s), interpolation=cv2.INTER_AREA) > 0
        x = (small - self.mean) / self.std
        x[small_hole] = 0.0
        tensor = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].float()
        mask = torch.from_numpy(small_hole.astype(np.float32))[None, None]
        with torch.no_grad():
            y = self.module(tensor, mask)
        y = y[0].detach().cpu().numpy().transpose(1, 2, 0) * self.std + self.mean
        if y.shape != (s, s, 3) or not np.isfinite(y).all():
            raise InpaintError(
                f"the inpainting model returned shape {y.shape} or non-finite values"
            )
        return cv2.resize(y.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def inpaint_model(image: NDArray, hole: NDArray, model: ModelInpainter, membrane: bool) -> NDArray:
    """The network fills a reduced copy; the upsampled result is corrected at the border."""
    if image.shape[2] != 3:
        raise InpaintError("the inpainting model needs 3-channel images")
    lo = float(image[~hole].min())
    hi = float(image[~hole].max())
    scale = max(hi - lo, 1e-6)
    filled = model((image - lo) / scale, hole) * scale + lo
    out = image.astype(np.float32).copy()
    out[hole] = filled[hole]
    if membrane:
        ring = (cv2.dilate(hole.astype(np.uint8), _square(3)) > 0) & ~hole
        residual = np.zeros(out.shape, np.float32)
        residual[ring] = image[ring] - filled[ring]
        out[hole] += _push_pull(residual, ring)[hole]
    return out


def inpaint(
    image: NDArray,
    hole: NDArray,
    options: InpaintOptions,
    model: ModelInpainter | None = None,
    progress: Progress | None = None,
) -> NDArray:
    """Fill ``hole`` (bool (H, W)) of ``image`` (float32 (H, W, C)) with ``options.method``.

    The image is padded by mirroring (hole included) so that holes touching the border are
    covered by whole patches; pixels outside the hole come back unchanged.
    """
    if options.method not in METHODS:
        raise InpaintError(f"method must be one of {METHODS}")
    hole = np.asarray(hole, bool)
    if not hole.any():
        return image.astype(np.float32)
    if hole.all():
        raise InpaintError("the hole covers the whole image")
    image = image.astype(np.float32)
    if image.ndim == 2:
        image = image[..., None]
    pad = options.patch // 2 + 1
    # pyramid levels halve exactly when the padded size is a multiple of 2**levels
    step = 2 ** coarse_levels(hole, options) if options.method in EXEMPLAR_METHODS else 1
    h, w = hole.shape
    bottom = pad + (-(h + 2 * pad)) % step
    right = pad + (-(w + 2 * pad)) % step
    padded = cv2.copyMakeBorder(image, pad, bottom, pad, right, cv2.BORDER_REFLECT)
    padded = padded.reshape(padded.shape[0], padded.shape[1], -1)
    padded_hole = cv2.copyMakeBorder(hole.astype(np.uint8), pad, bottom, pad, right,
                                     cv2.BORDER_REFLECT) > 0  # fmt: skip
    if options.method == "smooth":
        out = structure_fill(padded, padded_hole, options.structure_sigma)
    elif options.method == "model":
        if model is None:
            raise InpaintError("method 'model' needs an inpainting model")
        out = inpaint_model(padded, padded_hole, model, options.membrane)
    elif options.method == "blend":
        out = inpaint_blend(padded, padded_hole, options, progress)
    else:
        out = inpaint_patch(padded, padded_hole, options, progress)
    out = out[pad : pad + h, pad : pad + w]
    result = image.copy()
    result[hole] = out[hole]
    return result


def coarse_levels(hole: NDArray, options: InpaintOptions) -> int:
    """How many times the exemplar method halves the image for this hole (for reports)."""
    return _levels_needed(np.asarray(hole, bool), options.coarse_radius, 8 * options.patch)


__all__ = [
    "METHODS",
    "InpaintError",
    "InpaintOptions",
    "ModelInpainter",
    "coarse_levels",
    "inpaint",
    "inpaint_blend",
    "inpaint_patch",
]


def correct_border(image: NDArray, hole: NDArray, fill: NDArray) -> NDArray:
    """``image`` with ``fill`` put in the hole, plus the smooth interpolation of the border
    residual (known pixels round the hole minus ``fill`` there), so the fill meets the
    border without a seam even when the lighting changed (used to re-use a fill).

    Everything is computed on the hole's bounding box (plus the ring round it)."""
    out = image.astype(np.float32)
    out = out.copy() if out is image else out
    rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
    if rows.size == 0:
        return out
    h, w = hole.shape
    y0, y1 = max(0, rows[0] - 2), min(h, rows[-1] + 3)
    x0, x1 = max(0, cols[0] - 2), min(w, cols[-1] + 3)
    sub_hole = hole[y0:y1, x0:x1]
    known = out[y0:y1, x0:x1]
    sub_fill = fill[y0:y1, x0:x1].reshape(known.shape)
    ring = (cv2.dilate(sub_hole.astype(np.uint8), _square(3)) > 0) & ~sub_hole
    patched = sub_fill
    if ring.any():
        residual = np.where(ring[..., None], known - sub_fill, np.float32(0))
        patched = sub_fill + _push_pull(residual.astype(np.float32), ring)
    out[y0:y1, x0:x1] = np.where(sub_hole[..., None], patched, known)
    return out
