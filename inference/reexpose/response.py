"""Camera response curves: the named ones, a two-parameter family, and estimation from edges.

A camera maps linear scene radiance ``x`` (normalised so 1 is the clipping point) to a code
value ``v = f(x)`` in [0, 1]. Re-exposure needs the inverse ``g = f⁻¹``. Three kinds:

* ``srgb`` — the IEC 61966-2-1 curve (linear toe, then a 1/2.4 power);
* ``gamma`` — ``g(v) = v**γ``;
* ``shoulder`` — ``g(v) = (v / (1 + c (1 − v)))**γ``: a gamma curve whose forward map has a
  highlight shoulder (``f(x) = u (1 + c) / (1 + c u)``, ``u = x**(1/γ)``), as camera JPEG tone
  curves do; ``c = 0`` is a plain gamma;
* ``table`` — a measured inverse curve: linear values at equally spaced codes, interpolated.

:func:`estimate_response` fits ``(γ, c)`` from the image's own edges (after Lin et al.,
"Radiometric calibration from a single image", CVPR 2004): a pixel straddling an edge between
two uniform regions records a *linear* mix of their radiances, so in linear RGB it lies on the
segment between them; a wrong inverse response bends it off that line. The fit minimises the
distance of such pixels from their segments over the family (a grid, then a local refinement).
Only edges between different *chromaticities* carry information (a mix of two colours with the
same chromaticity stays on a line through the origin under any power curve), and only unclipped,
not-too-dark pixels are used. With too few such edges, or a cost landscape too flat to trust,
it returns sRGB with the reason in ``info["fallback"]``, described as "assumed, not estimated".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["Response", "collinearity_cost", "edge_samples", "estimate_response", "KINDS"]

KINDS = ("srgb", "gamma", "shoulder", "table")


@dataclass(frozen=True)
class Response:
    """A camera response; ``inverse`` linearises code values in [0, 1]."""

    kind: str = "srgb"
    gamma: float = 2.2
    shoulder: float = 0.0
    #: kind "table": the inverse at codes 0, 1/(n−1), …, 1 (increasing, from 0 to 1)
    table: tuple[float, ...] = ()
    #: how it was chosen: "given" or "estimated" (with ``info`` from the fit)
    source: str = "given"
    info: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"response kind must be one of {KINDS}, got {self.kind!r}")
        if not 0.2 <= self.gamma <= 5.0:
            raise ValueError(f"gamma must be in 0.2..5, got {self.gamma}")
        if not 0.0 <= self.shoulder <= 10.0:
            raise ValueError(f"shoulder must be in 0..10, got {self.shoulder}")
        if self.kind == "table":
            t = np.asarray(self.table, dtype=np.float64)
            if t.ndim != 1 or not 2 <= len(t) <= 65536 or not np.all(np.isfinite(t)):
                raise ValueError("a response table needs 2..65536 finite values")
            if np.any(np.diff(t) < 0) or t[0] < 0 or t[-1] <= 0:
                raise ValueError("a response table must increase from ≥ 0 to a positive end")

    def inverse(self, v: NDArray) -> NDArray[np.float32]:
        """Code values in [0, 1] → linear radiance in [0, 1] (1 = the clipping point)."""
        v = np.clip(np.asarray(v, dtype=np.float32), 0.0, 1.0)
        if self.kind == "table":
            t = np.asarray(self.table, dtype=np.float64)
            grid = np.linspace(0.0, 1.0, len(t))
            return (np.interp(v, grid, t) / t[-1]).astype(np.float32)
        if self.kind == "srgb":
            return np.where(
                v <= 0.04045, v / 12.92, np.power((v + 0.055) / 1.055, 2.4, dtype=np.float32)
            ).astype(np.float32)
        base = v / (1.0 + self.shoulder * (1.0 - v)) if self.kind == "shoulder" else v
        return np.power(base, self.gamma, dtype=np.float32)

    def forward(self, x: NDArray) -> NDArray[np.float32]:
        """Linear radiance → code values in [0, 1] (radiance above 1 clips)."""
        x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
        if self.kind == "table":
            t = np.asarray(self.table, dtype=np.float64)
            return np.interp(x, t / t[-1], np.linspace(0.0, 1.0, len(t))).astype(np.float32)
        if self.kind == "srgb":
            return np.where(
                x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4, dtype=np.float32) - 0.055
            ).astype(np.float32)
        u = np.power(x, 1.0 / self.gamma, dtype=np.float32)
        if self.kind == "shoulder":
            c = self.shoulder
            u = u * (1.0 + c) / (1.0 + c * u)
        return u.astype(np.float32)

    def lut(self, levels: int) -> NDArray[np.float32]:
        """Linear value of every integer code 0..levels−1 (for fast linearisation)."""
        return self.inverse(np.arange(levels, dtype=np.float32) / (levels - 1))

    def describe(self) -> str:
        if self.kind == "srgb":
            text = "sRGB"
        elif self.kind == "table":
            text = f"measured table ({len(self.table)} points)"
        elif self.kind == "gamma" or self.shoulder == 0:
            text = f"gamma {self.gamma:.2f}"
        else:
            text = f"gamma {self.gamma:.2f} with shoulder {self.shoulder:.2f}"
        if self.source == "estimated" and "fallback" in self.info:
            # the estimator could not read the curve from the image: say so wherever the
            # description is shown (job result, response chart, progress)
            return f"{text} (assumed, not estimated)"
        return f"{text} ({self.source})"

    def as_dict(self) -> dict:
        out = asdict(self)
        out["table"] = list(self.table)
        out["description"] = self.describe()
        return out


# -- estimation ------------------------------------------------------------------------------
_DARK = 0.04  # code values below this are quantisation-dominated
_BRIGHT = 0.96  # above this a channel may be clipped
_MIN_STEP = 0.12  # code-value difference across an edge (max over channels)
_FLAT = 0.02  # each side of an edge must be this uniform (two pixels)
_MIN_CHROMA = 0.06  # distance between the two sides' chromaticities
_MAX_SAMPLES = 40000
_MIN_SAMPLES = 150
_MIN_CONTRAST = 0.3  # (median − best) / median cost over the grid

_GAMMAS = np.round(np.arange(1.0, 3.21, 0.1), 3)
_SHOULDERS = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0])


def edge_samples(image: NDArray, max_samples: int = _MAX_SAMPLES, seed: int = 0) -> NDArray:
    """Edge profiles for the collinearity test: array (n, 4, 3) = side a, two mixes, side b.

    Candidates come from horizontal and vertical runs ``a2 a m1 m2 b b2`` (codes in [0, 1]):
    flat sides (``a2≈a``, ``b≈b2``), a large step between them, mixes monotonic between the
    sides in every channel, all channels away from black and from clipping, and different
    chromaticities on the two sides. The edge can fall on either middle pixel.
    """
    v = np.asarray(image, dtype=np.float32)
    out = []
    for axis in (1, 0):
        n = v.shape[axis]
        if n < 6:
            continue

        def take(k: int, axis=axis, n=n) -> NDArray:
            return np.take(v, np.arange(k, n - 5 + k), axis=axis)

        a2, a, m1, m2, b, b2 = (take(k) for k in range(6))
        ok = (a.min(-1) > _DARK) & (b.min(-1) > _DARK) & (a.max(-1) < _BRIGHT)
        ok &= b.max(-1) < _BRIGHT
        ok &= (np.abs(a - a2).max(-1) < _FLAT) & (np.abs(b - b2).max(-1) < _FLAT)
        ok &= np.abs(a - b).max(-1) > _MIN_STEP
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        for m in (m1, m2):
            ok &= np.all((m >= lo - 1e-6) & (m <= hi + 1e-6), axis=-1)
        if not ok.any():
            continue
        idx = np.nonzero(ok)
        pa, pb = a[idx], b[idx]
        ca = pa / pa.sum(-1, keepdims=True)
        cb = pb / pb.sum(-1, keepdims=True)
        chroma = np.abs(ca - cb).sum(-1) > _MIN_CHROMA
        if not chroma.any():
            continue
        stack = np.stack([pa, m1[idx], m2[idx], pb], axis=1)[chroma]
        out.append(stack)
    if not out:
        return np.zeros((0, 4, 3), np.float32)
    samples = np.concatenate(out)
    if len(samples) > max_samples:
        rng = np.random.default_rng(seed)
        samples = samples[rng.choice(len(samples), max_samples, replace=False)]
    return samples


def collinearity_cost(samples: NDArray, response: Response) -> float:
    """Mean (robust) code-value error of the mixes re-predicted as linear mixes of the sides.

    The mixing fraction of each mix is the least-squares one in linear RGB; the prediction is
    mapped back through the forward curve and compared in code values, where quantisation
    noise is the same at every level — a distance measured in linear RGB would favour
    degenerate curves that squash every mix onto one side.
    """
    lin = response.inverse(samples)
    a, b = lin[:, 0], lin[:, 3]
    d = b - a
    dd = np.maximum((d * d).sum(-1), 1e-12)
    cost = 0.0
    for k in (1, 2):
        t = np.clip(((lin[:, k] - a) * d).sum(-1) / dd, 0.0, 1.0)
        predicted = response.forward(a + t[:, None] * d)
        err = np.abs(predicted - samples[:, k]).max(-1)
        cost += float(np.mean(np.minimum(err, 0.05)))  # truncated: ignore non-edges
    return cost / 2


def estimate_response(image: NDArray, max_samples: int = _MAX_SAMPLES) -> Response:
    """Fit the ``shoulder`` family to an image's edges (codes as floats in [0, 1]).

    Falls back to sRGB (``info["fallback"]`` says why) when the image has too few usable
    edges between different colours.
    """
    samples = edge_samples(image, max_samples)
    if len(samples) < _MIN_SAMPLES:
        return Response(
            "srgb",
            source="estimated",
            info={
                "edges": int(len(samples)),
                "fallback": "too few colour edges to estimate the response; assumed sRGB",
            },
        )
    grid = []
    best = (np.inf, 2.2, 0.0)
    for c in _SHOULDERS:
        for g in _GAMMAS:
            cost = collinearity_cost(samples, Response("shoulder", float(g), float(c)))
            grid.append(cost)
            if cost < best[0]:
                best = (cost, float(g), float(c))
    # a flat cost landscape means the edges do not constrain the curve (texture, sharpened
    # or resampled edges): the standard curve is then a better guess than the noise minimum
    typical = float(np.median(grid))
    contrast = (typical - best[0]) / max(typical, 1e-12)
    info = {"edges": int(len(samples)), "contrast": round(contrast, 4)}
    if contrast < _MIN_CONTRAST:
        info["fallback"] = (
            "the image's edges do not constrain the response (cost contrast "
            f"{contrast:.2f} < {_MIN_CONTRAST}); assumed sRGB"
        )
        return Response("srgb", source="estimated", info=info)
    # local refinement: a finer grid around the best cell
    _, g0, c0 = best
    for g in np.linspace(max(1.0, g0 - 0.1), min(3.4, g0 + 0.1), 9):
        for c in np.linspace(max(0.0, c0 - 0.25), c0 + 0.25, 9):
            cost = collinearity_cost(samples, Response("shoulder", float(g), float(c)))
            if cost < best[0]:
                best = (cost, float(g), float(c))
    cost, g, c = best
    info["cost"] = cost
    info["srgb_cost"] = collinearity_cost(samples, Response("srgb"))
    return Response("shoulder", round(g, 3), round(c, 3), source="estimated", info=info)
