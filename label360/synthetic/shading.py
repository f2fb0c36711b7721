"""Radiance: textured albedo × simple lighting, plus emitters (sun disc, ceiling lamp) and sky.

Linear, physically-flavoured but deliberately simple: Lambertian surfaces, one directional sun
(street) or one point lamp (room) plus a hemispherical ambient term. No shadows and no
inter-reflections (documented in docs/synthetic.md). The emitters are far brighter than 1.0, so
the float radiance is genuinely HDR; ``tonemap`` gives the clipped 8-bit image.
"""

from __future__ import annotations

import numpy as np

from . import textures
from .raycast import Hits
from .scene import CLASS_IDS, Scene


def _box_albedo(
    scene: Scene, hits: Hits, points: np.ndarray, flat: np.ndarray, out: np.ndarray
) -> None:
    """Fill ``out`` (N, 3) at flat pixel indices of boxes with each box's texture."""
    ids = hits.instance_ids.ravel()[flat]
    normals = hits.normals.reshape(-1, 3)[flat]
    order = np.argsort(ids, kind="stable")
    uniq, starts = np.unique(ids[order], return_index=True)
    bounds = list(starts) + [len(order)]
    for k, iid in enumerate(uniq):
        sel = order[bounds[k] : bounds[k + 1]]
        box = scene.box_by_id(int(iid))
        rb = box.rotation()
        half = np.asarray(box.size, float) / 2.0
        q = (points[sel] - np.asarray(box.center)) @ rb  # box-local coordinates
        nl = normals[sel] @ rb
        axis = np.argmax(np.abs(nl), axis=1)
        side = axis != 1
        # Face coordinates in metres: horizontal along the face, and height / depth.
        u = np.where(axis == 0, q[:, 2], q[:, 0]) + half[0] + half[2]
        v = np.where(axis == 1, q[:, 2], q[:, 1]) + half[1]
        u = u + 17.0 * axis  # decorrelate faces
        h_abs = q[:, 1] + half[1]
        h_rel = h_abs / box.size[1]
        mat = box.material
        pattern = mat.get("pattern")
        if pattern == "facade":
            alb = textures.facade(u, v, h_abs, side, mat)
        elif pattern == "car":
            alb = textures.car(u, v, h_rel, side, mat)
        elif pattern == "person":
            alb = textures.person(u, v, h_rel, mat)
        elif pattern == "foliage":
            alb = textures.foliage(u, v, h_rel, mat)
        elif pattern == "metal":
            alb = textures.metal(u, v, mat)
        elif pattern == "fabric":
            alb = textures.fabric(u, v, mat)
        else:
            alb = textures.wood(u, v, mat)
        out[sel] = alb


def _stuff_albedo(
    scene: Scene, cls: np.ndarray, points: np.ndarray, normals: np.ndarray, out: np.ndarray
) -> None:
    mats = scene.stuff["materials"]
    if scene.stuff["type"] == "room":
        floor = cls == CLASS_IDS["floor"]
        out[floor] = textures.planks(points[floor, 0], points[floor, 2], mats["floor"])
        ceil = cls == CLASS_IDS["ceiling"]
        out[ceil] = textures.plaster(points[ceil, 0], points[ceil, 2], mats["ceiling"])
        wall = cls == CLASS_IDS["wall"]
        p, n = points[wall], normals[wall]
        along = np.where(np.abs(n[:, 0]) > 0.5, p[:, 2], p[:, 0])  # horizontal coordinate
        out[wall] = textures.plaster(along + 37.0 * n[:, 0], p[:, 1], mats["wall"])
    else:
        road = cls == CLASS_IDS["road"]
        out[road] = textures.asphalt(
            points[road, 0], points[road, 2], mats["road"], float(scene.stuff["sidewalk_x"])
        )


def shade(scene: Scene, hits: Hits, origin: np.ndarray) -> np.ndarray:
    """Linear radiance (H, W, 3) float32 for the pixels in ``hits``."""
    shape = hits.t.shape
    dirs = hits.dirs.reshape(-1, 3)
    t = hits.t.ravel()
    finite = np.isfinite(t)
    all_surface = bool(finite.all())
    surf = None if all_surface else np.flatnonzero(finite)

    def pick(a: np.ndarray) -> np.ndarray:
        return a if surf is None else a[surf]

    points = origin + pick(t)[:, None] * pick(dirs)
    normals = pick(hits.normals.reshape(-1, 3))
    ids = pick(hits.instance_ids.ravel())
    cls = pick(hits.class_ids.ravel())
    flat = np.arange(len(t)) if surf is None else surf
    albedo = np.zeros((len(points), 3))
    is_box = ids > 0
    box_idx = np.flatnonzero(is_box)
    if len(box_idx):
        sub = np.zeros((len(box_idx), 3))
        _box_albedo(scene, hits, points[box_idx], flat[box_idx], sub)
        albedo[box_idx] = sub
    stuff_idx = np.flatnonzero(~is_box)
    if len(stuff_idx):
        sub = np.zeros((len(stuff_idx), 3))
        _stuff_albedo(scene, cls[stuff_idx], points[stuff_idx], normals[stuff_idx], sub)
        albedo[stuff_idx] = sub
    lights = scene.lights
    light = lights["ambient"] * (0.75 + 0.25 * normals[:, 1])
    if scene.stuff["type"] == "room":
        lamp = np.asarray(lights["lamp_position"], float)
        to_l = lamp - points
        d2 = np.einsum("ij,ij->i", to_l, to_l)
        cos = np.einsum("ij,ij->i", normals, to_l) / np.sqrt(np.maximum(d2, 1e-12))
        light += lights["lamp_intensity"] * np.maximum(cos, 0.0) / np.maximum(d2, 0.05)
        albedo *= light[:, None]
        # The lamp itself: an emissive disc on the ceiling.
        r2 = (points[:, 0] - lamp[0]) ** 2 + (points[:, 2] - lamp[2]) ** 2
        glow = (cls == CLASS_IDS["ceiling"]) & (r2 < lights["lamp_radius"] ** 2)
        albedo[glow] = np.asarray(lights["lamp_radiance"], float)
    else:
        sun = np.asarray(lights["sun_direction"], float)
        light += lights["sun_irradiance"] * np.maximum(normals @ sun, 0.0)
        albedo *= light[:, None]
    if surf is None:
        return albedo.reshape(shape + (3,)).astype(np.float32)
    rad = np.zeros((len(t), 3))
    rad[surf] = albedo
    sky = np.flatnonzero(~finite)
    rad[sky] = _sky(scene, dirs[sky])
    return rad.reshape(shape + (3,)).astype(np.float32)


def _sky(scene: Scene, d: np.ndarray) -> np.ndarray:
    """Sky radiance: horizon→zenith gradient, a halo around the sun and the sun disc."""
    lights = scene.lights
    if "sun_direction" not in lights:
        return np.zeros((len(d), 3))
    sun = np.asarray(lights["sun_direction"], float)
    k = np.sqrt(np.clip(d[:, 1], 0.0, 1.0))
    zen, hor = np.asarray(lights["sky_zenith"]), np.asarray(lights["sky_horizon"])
    col = hor[None, :] + (zen - hor)[None, :] * k[:, None]
    ang = np.degrees(np.arccos(np.clip(d @ sun, -1.0, 1.0)))
    halo = 4.0 * np.exp(-((ang / 6.0) ** 2))
    col *= (1.0 + halo)[:, None]
    col[ang < lights["sun_radius_deg"]] = np.asarray(lights["sun_radiance"], float)
    return col


# 16-bit lookup table for the display transfer: round(255 · x^(1/2.2)) at x = k / 65535.
_LUT_SIZE = 65536


def tonemap(radiance: np.ndarray, exposure: float = 1.0, gamma: float = 2.2) -> np.ndarray:
    """8-bit display image: exposure, clip to [0, 1], gamma 1/2.2 (via a 16-bit LUT), round."""
    lut = (np.power(np.linspace(0.0, 1.0, _LUT_SIZE), 1.0 / gamma) * 255.0 + 0.5).astype(np.uint8)
    x = radiance * np.float32(exposure * (_LUT_SIZE - 1))
    np.maximum(x, 0.0, out=x)
    np.minimum(x, np.float32(_LUT_SIZE - 1), out=x)
    x += np.float32(0.5)
    return lut[x.astype(np.uint16)]
