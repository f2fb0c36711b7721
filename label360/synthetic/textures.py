"""Procedural albedo textures, evaluated from world / object-local metric coordinates.

Because every pattern is a pure function of surface coordinates (never of pixels), the same
surface point has the same albedo in every view and every frame of a sequence — which is what
feature matching, inpainting and pre-labelling tests need. Noise is integer-hash value noise
(uint64 arithmetic), so it is bit-reproducible across runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M3 = np.uint64(0x165667B19E3779F9)
_MIX = np.uint64(0xFF51AFD7ED558CCD)


def hash01(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic pseudo-random value in [0, 1) for integer lattice points."""
    h = ix.astype(np.int64).view(np.uint64) * _M1
    h ^= iy.astype(np.int64).view(np.uint64) * _M2
    h ^= np.uint64(((seed & 0xFFFFFFFF) * int(_M3)) & 0xFFFFFFFFFFFFFFFF)
    h ^= h >> np.uint64(33)
    h *= _MIX
    h ^= h >> np.uint64(29)
    return (h >> np.uint64(40)).astype(np.float64) * (1.0 / (1 << 24))


def value_noise(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    """Smooth 2-D value noise in [0, 1] with unit lattice spacing."""
    fu, fv = np.floor(u), np.floor(v)
    iu, iv = fu.astype(np.int64), fv.astype(np.int64)
    su, sv = u - fu, v - fv
    su = su * su * (3.0 - 2.0 * su)
    sv = sv * sv * (3.0 - 2.0 * sv)
    a = hash01(iu, iv, seed)
    b = hash01(iu + 1, iv, seed)
    c = hash01(iu, iv + 1, seed)
    d = hash01(iu + 1, iv + 1, seed)
    top = a + (b - a) * su
    bot = c + (d - c) * su
    return top + (bot - top) * sv


def fbm(u: np.ndarray, v: np.ndarray, seed: int, octaves: int = 2) -> np.ndarray:
    """Fractal sum of value noise, normalised to [0, 1]."""
    total = np.zeros_like(u)
    amp, norm, freq = 1.0, 0.0, 1.0
    for k in range(octaves):
        total += amp * value_noise(u * freq, v * freq, seed + 7919 * k)
        norm += amp
        amp *= 0.5
        freq *= 2.03
    return total / norm


def _frac(x: np.ndarray) -> np.ndarray:
    return x - np.floor(x)


def _rgb(c: Any) -> np.ndarray:
    return np.asarray(c, float)[None, :]


def planks(u: np.ndarray, v: np.ndarray, mat: dict[str, Any]) -> np.ndarray:
    """Floor boards 0.18 m wide (across u) and 1.5 m long (along v), staggered, with grain."""
    seed = mat["seed"]
    row = np.floor(u / 0.18)
    offset = hash01(row.astype(np.int64), np.zeros_like(row, np.int64), seed) * 1.5
    col = np.floor((v + offset) / 1.5)
    tone = 0.7 + 0.6 * hash01(row.astype(np.int64), col.astype(np.int64), seed + 1)
    grain = 0.88 + 0.12 * np.sin(v * 23.0 + 6.0 * value_noise(u * 9.0, v * 0.7, seed + 2))
    gap = (_frac(u / 0.18) < 0.05) | (_frac((v + offset) / 1.5) < 0.006)
    k = np.where(gap, 0.35, tone * grain)
    return _rgb(mat["color"]) * k[:, None]


def plaster(u: np.ndarray, v: np.ndarray, mat: dict[str, Any]) -> np.ndarray:
    """Painted plaster with soft blotches and faint wallpaper stripes."""
    n = value_noise(u * 3.0, v * 3.0, mat["seed"])
    stripes = 1.0 - 0.08 * (_frac(u / 0.3) < 0.5)
    return _rgb(mat["color"]) * ((0.85 + 0.25 * n) * stripes)[:, None]


def wood(u: np.ndarray, v: np.ndarray, mat: dict[str, Any]) -> np.ndarray:
    grain = 0.8 + 0.2 * np.sin(u * 31.0 + 5.0 * value_noise(u * 2.0, v * 6.0, mat["seed"]))
    return _rgb(mat["color"]) * grain[:, None]


def fabric(u: np.ndarray, v: np.ndarray, mat: dict[str, Any]) -> np.ndarray:
    weave = 0.9 + 0.1 * np.sign(np.sin(u * 90.0) * np.sin(v * 90.0))
    blotch = 0.8 + 0.35 * value_noise(u * 4.0, v * 4.0, mat["seed"])
    return _rgb(mat["color"]) * (weave * blotch)[:, None]


def metal(u: np.ndarray, v: np.ndarray, mat: dict[str, Any]) -> np.ndarray:
    streak = 0.8 + 0.3 * value_noise(u * 40.0, v * 0.5, mat["seed"])
    band = 1.0 - 0.3 * (_frac(v / 1.0) < 0.06)
    return _rgb(mat["color"]) * (streak * band)[:, None]


def foliage(u: np.ndarray, v: np.ndarray, h: np.ndarray, mat: dict[str, Any]) -> np.ndarray:
    """Leafy canopy above 35% of the height, bark-coloured 'trunk' band below."""
    leaves = _rgb(mat["color"]) * (0.4 + 1.2 * fbm(u * 6.0, v * 6.0, mat["seed"], 3))[:, None]
    bark = (
        _rgb(mat["color2"]) * (0.7 + 0.4 * value_noise(u * 30.0, v * 2.0, mat["seed"] + 3))[:, None]
    )
    return np.where((h < 0.35)[:, None], bark, leaves)


def person(u: np.ndarray, v: np.ndarray, h: np.ndarray, mat: dict[str, Any]) -> np.ndarray:
    """Head (skin) / shirt / trousers bands by relative height, with fabric noise."""
    base = np.where(
        (h > 0.87)[:, None],
        _rgb(mat["skin"]),
        np.where((h > 0.48)[:, None], _rgb(mat["color"]), _rgb(mat["color2"])),
    )
    return base * (0.85 + 0.3 * value_noise(u * 12.0, v * 12.0, mat["seed"]))[:, None]


def car(
    u: np.ndarray, v: np.ndarray, h: np.ndarray, side: np.ndarray, mat: dict[str, Any]
) -> np.ndarray:
    """Body colour, dark glass band and tyres on the sides, slightly glossy noise."""
    body = _rgb(mat["color"]) * (0.9 + 0.2 * value_noise(u * 3.0, v * 3.0, mat["seed"]))[:, None]
    glass = (
        _rgb(mat["color2"]) * (1.0 + 2.0 * value_noise(u * 1.5, v * 8.0, mat["seed"] + 1))[:, None]
    )
    tyre = np.full((1, 3), 0.02)
    window = side & (h > 0.55) & (h < 0.92)
    out = np.where(window[:, None], glass, body)
    return np.where((side & (h < 0.2))[:, None], tyre, out)


def facade(
    u: np.ndarray, v: np.ndarray, h: np.ndarray, side: np.ndarray, mat: dict[str, Any]
) -> np.ndarray:
    """Building: wall with noise, window grid per floor (per-window glass tone), gravel roof."""
    seed = mat["seed"]
    fh, ws = mat["floor_height"], mat["window_spacing"]
    wall = _rgb(mat["color"]) * (0.8 + 0.4 * fbm(u * 1.5, v * 1.5, seed))[:, None]
    col, flo = np.floor(u / ws), np.floor(h / fh)
    in_win = (np.abs(_frac(u / ws) - 0.5) < 0.28) & (np.abs(_frac(h / fh) - 0.55) < 0.25) & (h > fh)
    pane = 0.6 + 1.4 * hash01(col.astype(np.int64), flo.astype(np.int64), seed + 5)
    glass = _rgb(mat["color2"]) * pane[:, None]
    ledge = np.abs(_frac(h / fh) - 0.02) < 0.02
    out = np.where((side & in_win)[:, None], glass, wall)
    out = np.where((side & ledge)[:, None], wall * 0.6, out)
    roof = np.full((1, 3), 0.2) * (0.7 + 0.6 * value_noise(u * 5.0, v * 5.0, seed + 9))[:, None]
    return np.where(side[:, None], out, roof)


def asphalt(x: np.ndarray, z: np.ndarray, mat: dict[str, Any], sidewalk_x: float) -> np.ndarray:
    """Road with dashed centre line and solid edge lines; paved sidewalks beyond ±sidewalk_x."""
    seed = mat["seed"]
    grain = 0.75 + 0.5 * value_noise(x * 25.0, z * 25.0, seed + 2)  # gravel, ~4 cm
    road = _rgb(mat["color"]) * ((0.6 + 0.8 * fbm(x * 0.7, z * 0.7, seed)) * grain)[:, None]
    ax = np.abs(x)
    paint = ((ax < 0.075) & (_frac(z / 6.0) < 0.5)) | (np.abs(ax - (sidewalk_x - 0.35)) < 0.07)
    out = np.where(paint[:, None], np.full((1, 3), 0.7), road)
    tile = hash01(np.floor(x / 0.6).astype(np.int64), np.floor(z / 0.6).astype(np.int64), seed + 1)
    joint = (_frac(x / 0.6) < 0.04) | (_frac(z / 0.6) < 0.04)
    paving = _rgb(mat["color2"]) * np.where(joint, 0.5, 0.85 + 0.3 * tile)[:, None]
    return np.where((ax > sidewalk_x)[:, None], paving, out)
