"""Deterministic synthetic 360° scenes with exact ground truth.

Pure numpy ray casting from the panorama centre; see docs/synthetic.md. Public API::

    render(kind, seed, width, height=None, camera=None) -> Render
    render_scene(scene, camera=None, width=1024, height=None) -> Render
    render_sequence(kind, seed, width, poses=None, height=None, n_frames=8) -> list[Render]
    make_scene(kind, seed) -> Scene;  sequence_poses(scene, n_frames, seed) -> list[Camera]
    write(render, folder) -> dict[str, Path]
"""

from .io import write, write_sequence
from .renderer import (
    Render,
    instance_annotations,
    render,
    render_scene,
    render_sequence,
    sequence_poses,
)
from .scene import CLASS_IDS, CLASSES, SCENE_KINDS, STUFF_CLASSES, Box, Camera, Scene, make_scene

__all__ = [
    "CLASSES",
    "CLASS_IDS",
    "SCENE_KINDS",
    "STUFF_CLASSES",
    "Box",
    "Camera",
    "Render",
    "Scene",
    "instance_annotations",
    "make_scene",
    "render",
    "render_scene",
    "render_sequence",
    "sequence_poses",
    "write",
    "write_sequence",
]
