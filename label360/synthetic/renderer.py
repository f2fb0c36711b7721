"""Top-level rendering: scene + camera → Render (images, depth, normals, ids, exact polygons)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .raycast import Window, cast, lonlat_window
from .scene import CLASS_IDS, CLASSES, Camera, Scene, make_scene
from .shading import shade, tonemap
from .silhouettes import instance_geometry, lonlat_bounds, silhouette

# Rows are rendered in bands of about this many pixels: small enough to stay cache-friendly
# and bound memory, and bands run on a thread pool (numpy releases the GIL). Every band is
# computed independently, so the result is bit-identical whatever the scheduling.
BAND_PIXELS = 1 << 17
MAX_THREADS = min(4, os.cpu_count() or 1)


@dataclass
class Render:
    """One rendered equirectangular frame with exact ground truth.

    Arrays are (H, W[, 3]) with W = 2H, pixel convention of CONVENTIONS.md, in the camera
    frame of ``camera`` (normals are world-frame).
    """

    scene: Scene
    camera: Camera
    rgb: np.ndarray  # uint8 (H, W, 3), tone-mapped ``radiance``
    radiance: np.ndarray  # float32 (H, W, 3), linear, HDR (sun / lamp ≫ 1)
    depth: np.ndarray  # float32 (H, W), distance along the ray; +inf for sky
    normals: np.ndarray  # float32 (H, W, 3), unit world-frame normals; 0 for sky
    instance_ids: np.ndarray  # int32 (H, W); 0 = stuff/sky, else Box.id
    class_ids: np.ndarray  # uint8 (H, W); index into CLASSES
    annotations: list[dict[str, Any]]  # one per box, see instance_annotations

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def sky_mask(self) -> np.ndarray:
        """True where the ray hits nothing (depth is inf, normals are 0)."""
        return ~np.isfinite(self.depth)


def instance_annotations(
    scene: Scene, camera: Camera, instance_ids: np.ndarray, sils: list[np.ndarray] | None = None
) -> list[dict[str, Any]]:
    """Per-box ground truth: exact visible polygons (disjoint convex parts), amodal polygon,
    occlusion relations, areas in steradians and rendered pixel counts."""
    counts = np.bincount(
        instance_ids.ravel(), minlength=max((b.id for b in scene.boxes), default=0) + 1
    )
    out = []
    for g in instance_geometry(scene.boxes, camera, sils):
        out.append(
            {
                "id": g["id"],
                "class": g["class"],
                "class_id": CLASS_IDS[g["class"]],
                "geometry": g["geometry"],
                "amodal_geometry": g["amodal_geometry"],
                "exact": True,
                "visible": bool(g["geometry"]),
                "occluded": bool(g["occluded_by"]),
                "occluded_by": g["occluded_by"],
                "area_sr": g["area_sr"],
                "amodal_area_sr": g["amodal_area_sr"],
                "pixel_count": int(counts[g["id"]]),
            }
        )
    return out


def render_scene(
    scene: Scene, camera: Camera | None = None, width: int = 1024, height: int | None = None
) -> Render:
    """Render ``scene`` from ``camera`` (default: the scene's own camera) at width × height."""
    camera = scene.camera if camera is None else camera
    height = width // 2 if height is None else height
    if width <= 0 or height <= 0:
        raise ValueError("width and height must be positive")
    sils = [silhouette(box, camera) for box in scene.boxes]
    windows: dict[int, Window] = {
        box.id: lonlat_window(*lonlat_bounds(sil), width, height)
        for box, sil in zip(scene.boxes, sils, strict=True)
    }
    origin = np.asarray(camera.position, float)
    radiance = np.empty((height, width, 3), np.float32)
    rgb = np.empty((height, width, 3), np.uint8)
    depth = np.empty((height, width), np.float32)
    normals = np.empty((height, width, 3), np.float32)
    instance_ids = np.empty((height, width), np.int32)
    class_ids = np.empty((height, width), np.uint8)

    def do_band(band: slice) -> None:
        hits = cast(scene, camera, width, height, band, windows)
        radiance[band] = shade(scene, hits, origin)
        rgb[band] = tonemap(radiance[band])
        depth[band] = hits.t
        normals[band] = hits.normals
        instance_ids[band] = hits.instance_ids
        class_ids[band] = hits.class_ids

    rows = max(1, BAND_PIXELS // width)
    bands = [slice(r, min(height, r + rows)) for r in range(0, height, rows)]
    if MAX_THREADS > 1 and len(bands) > 1:
        with ThreadPoolExecutor(MAX_THREADS) as pool:
            list(pool.map(do_band, bands))
    else:
        for band in bands:
            do_band(band)
    return Render(
        scene=scene,
        camera=camera,
        rgb=rgb,
        radiance=radiance,
        depth=depth,
        normals=normals,
        instance_ids=instance_ids,
        class_ids=class_ids,
        annotations=instance_annotations(scene, camera, instance_ids, sils),
    )


def render(
    kind: str, seed: int, width: int = 1024, height: int | None = None, camera: Camera | None = None
) -> Render:
    """Seeded, deterministic render of a generated scene (bit-identical for the same arguments)."""
    return render_scene(make_scene(kind, seed), camera, width, height)


def sequence_poses(
    scene: Scene, n_frames: int = 8, seed: int = 0, max_shift: float = 0.1
) -> list[Camera]:
    """A known camera path: frame 0 is the scene camera, then yaw steps of ~360/n° with small
    pitch/roll wobble and translations of at most ``max_shift`` metres per axis."""
    rng = np.random.default_rng([seed, 3])
    base = scene.camera
    poses = [base]
    for k in range(1, n_frames):
        shift = rng.uniform(-max_shift, max_shift, 3) * np.array([1.0, 0.5, 1.0])
        poses.append(
            replace(
                base,
                position=tuple(float(a + b) for a, b in zip(base.position, shift, strict=True)),
                yaw=float(base.yaw + k * 360.0 / n_frames + rng.uniform(-5, 5)),
                pitch=float(rng.uniform(-5, 5)),
                roll=float(rng.uniform(-3, 3)),
            )
        )
    return poses


def render_sequence(
    kind: str,
    seed: int,
    width: int = 1024,
    poses: list[Camera] | None = None,
    height: int | None = None,
    n_frames: int = 8,
) -> list[Render]:
    """The same scene under a sequence of camera poses (default: ``sequence_poses``)."""
    scene = make_scene(kind, seed)
    poses = sequence_poses(scene, n_frames, seed) if poses is None else poses
    return [render_scene(scene, cam, width, height) for cam in poses]


__all__ = [
    "CLASSES",
    "Render",
    "instance_annotations",
    "render",
    "render_scene",
    "render_sequence",
    "sequence_poses",
]
