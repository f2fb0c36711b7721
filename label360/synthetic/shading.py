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


def _box_albedo(scene: Scene, hits: Hits, points: np.ndarray, flat: np.ndarray, out: np.ndarray) -> None:
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


def _stuff_albedo(scene: Scene, cls: np.ndarray, points: np.ndarray, normals: np.ndarray, out: np.ndarray) -> None:
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
    """Linear radiance (H, W, 3) float32."""
    h, w = hits.t.shape
    dirs = hits.dirs.reshape(-1, 3)
    t = hits.t.ravel()
    rad = np.zeros((h * w, 3))
    surf = np.flatnonzero(np.isfinite(t))
    points = origin + t[surf, None] * dirs[surf]
    normals = hits.normals.reshape(-1, 3)[surf]
    albedo = np.zeros((len(surf), 3))
    is_box = hits.instance_ids.ravel()[surf] > 0
    cls = hits.class_ids.ravel()[surf]
    sub = np.zeros((int(is_box.sum()), 3))
    _box_albedo(scene, hits, points[is_box], surf[is_box], sub)
    albedo[is_box] = sub
    stuff = ~is_box
    sub2 = np.zeros((int(stuff.sum()), 3))
    _stuff_albedo(scene, cls[stuff], points[stuff], normals[stuff], sub2)
    albedo[stuff] = sub2
    lights = scene.lights
    ambient = lights["ambient"] * (0.75 + 0.25 * normals[:, 1])
    if scene.stuff["type"] == "room":
        lamp = np.asarray(lights["lamp_position"], float)
        to_l = lamp - points
        d2 = np.einsum("ij,ij->i", to_l, to_l)
        cos = np.einsum("ij,ij->i", normals, to_l) / np.sqrt(np.maximum(d2, 1e-12))
        irr = lights["lamp_intensity"] * np.maximum(cos, 0.0) / np.maximum(d2, 0.05)
        rad[surf] = albedo * (ambient + irr)[:, None]
        # The lamp itself: an emissive disc on the ceiling.
        ceil = cls == CLASS_IDS["ceiling"]
        r2 = (points[:, 0] - lamp[0]) ** 2 + (points[:, 2] - lamp[2]) ** 2
        glow = surf[ceil & (r2 < lights["lamp_radius"] ** 2)]
        rad[glow] = np.asarray(lights["lamp_radiance"], float)
    else:
        sun = np.asarray(lights["sun_direction"], float)
        irr = lights["sun_irradiance"] * np.maximum(normals @ sun, 0.0)
        rad[surf] = albedo * (ambient + irr)[:, None]
        sky = np.flatnonzero(~np.isfinite(t))
        d = dirs[sky]
        k = np.clip(d[:, 1], 0.0, 1.0) ** 0.5
        zen, hor = np.asarray(lights["sky_zenith"]), np.asarray(lights["sky_horizon"])
        col = hor[None, :] + (zen - hor)[None, :] * k[:, None]
        ang = np.degrees(np.arccos(np.clip(d @ sun, -1.0, 1.0)))
        halo = 4.0 * np.exp(-((ang / 6.0) ** 2))
        col = col * (1.0 + halo)[:, None]
        disc = ang < lights["sun_radius_deg"]
        col[disc] = np.asarray(lights["sun_radiance"], float)
        rad[sky] = col
    return rad.reshape(h, w, 3).astype(np.float32)


def tonemap(radiance: np.ndarray, exposure: float = 1.0, gamma: float = 2.2) -> np.ndarray:
    """8-bit display image: exposure, clip to [0, 1], gamma 1/2.2, round."""
    x = np.clip(radiance * np.float32(exposure), 0.0, 1.0)
    return (np.power(x, np.float32(1.0 / gamma)) * 255.0 + 0.5).astype(np.uint8)


__all__ = ["shade", "tonemap"]
