"""Writing renders to disk in the documented formats (docs/synthetic.md).

Files per frame: rgb.png (8-bit sRGB-ish), radiance.exr (float32 linear, RGB, via label360.exr), depth.npy (float32, inf = sky), normals.npy (float32 H×W×3),
instances.png (16-bit ids), classes.png (8-bit class ids), annotations.json, scene.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from label360.exr import write_exr

from .renderer import Render
from .scene import CLASSES

FORMAT = "label360-synthetic/1"


def _cv2():
    # OpenCV reads this flag before its first EXR use; it must be set before cv2 is imported
    # to be safe, so set it here (setdefault: respect an explicit opt-out).
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    import cv2

    return cv2


def _write_png(cv2, path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image):
        raise OSError(f"could not write {path}")


def _write_radiance(cv2, folder: Path, radiance: np.ndarray) -> Path:
    path = folder / "radiance.exr"
    path.write_bytes(write_exr(radiance))
    return path


def annotations_dict(result: Render, files: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "width": result.width,
        "height": result.height,
        "classes": list(CLASSES),
        "camera": result.camera.to_dict(),
        "instances": result.annotations,
        "files": files or {},
    }


def write(result: Render, folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Write one frame into ``folder`` (created); returns {name: path}."""
    cv2 = _cv2()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["rgb"] = folder / "rgb.png"
    _write_png(cv2, paths["rgb"], np.ascontiguousarray(result.rgb[..., ::-1]))
    paths["radiance"] = _write_radiance(cv2, folder, result.radiance)
    paths["depth"] = folder / "depth.npy"
    np.save(paths["depth"], result.depth.astype(np.float32))
    paths["normals"] = folder / "normals.npy"
    np.save(paths["normals"], result.normals.astype(np.float32))
    if result.instance_ids.max(initial=0) > 65535:
        raise ValueError("more than 65535 instances do not fit a 16-bit PNG")
    paths["instances"] = folder / "instances.png"
    _write_png(cv2, paths["instances"], result.instance_ids.astype(np.uint16))
    paths["classes"] = folder / "classes.png"
    _write_png(cv2, paths["classes"], result.class_ids.astype(np.uint8))
    files = {k: p.name for k, p in paths.items()}
    paths["annotations"] = folder / "annotations.json"
    paths["annotations"].write_text(json.dumps(annotations_dict(result, files), indent=1))
    paths["scene"] = folder / "scene.json"
    scene_doc = {
        "format": FORMAT,
        "scene": result.scene.to_dict(),
        "camera": result.camera.to_dict(),
    }
    paths["scene"].write_text(json.dumps(scene_doc, indent=1))
    return paths


def write_sequence(results: list[Render], folder: str | os.PathLike[str]) -> list[dict[str, Path]]:
    """Write frames to folder/frame_0000, … plus folder/poses.json (one camera per frame)."""
    folder = Path(folder)
    out = [write(r, folder / f"frame_{k:04d}") for k, r in enumerate(results)]
    poses = {
        "format": FORMAT,
        "frames": [{"frame": k, "camera": r.camera.to_dict()} for k, r in enumerate(results)],
    }
    (folder / "poses.json").write_text(json.dumps(poses, indent=1))
    return out
