"""Test scenes of the cameraman benchmark: the real CC0 panoramas and rig-free synthetic
renders, and the occluders pasted at their nadir (a tripod and a person seen from above, drawn
on the sphere). Importing it sets up Django for the bench scripts."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label360.settings")

import django  # noqa: E402

django.setup()

from annotations.imaging import tonemap_to_uint8  # noqa: E402
from label360.sphere.vectors import vec_to_lonlat  # noqa: E402
from label360.synthetic import make_scene, render_scene  # noqa: E402

DATA = ROOT / "data" / "polyhaven"
WIDTH = 1024


def real(path: Path, width: int = WIDTH) -> np.ndarray:
    hdr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    rgb = tonemap_to_uint8(np.ascontiguousarray(hdr))
    if rgb.shape[1] != width:
        rgb = cv2.resize(rgb, (width, width // 2), interpolation=cv2.INTER_CUBIC)
    return rgb


def ground_ring(points_xz: list[tuple[float, float]]) -> list[list[float]]:
    """A ring drawn on the ground plane one unit below the camera (x, z) -> [lon, lat]."""
    out = []
    for x, z in points_xz:
        v = np.array([x, -1.0, z]) / math.sqrt(x * x + 1 + z * z)
        lon, lat = vec_to_lonlat(v)
        out.append([float(lon), float(lat)])
    return out


def tripod() -> list:
    """Hub (a disc round the nadir) and three legs, as spherical polygons."""
    hub = [[ground_ring([(0.13 * math.cos(a), 0.13 * math.sin(a))
                         for a in np.linspace(0, 2 * math.pi, 24, endpoint=False)])]]  # fmt: skip
    legs = []
    for k in range(3):
        a = math.radians(90 + 120 * k)
        c, s = math.cos(a), math.sin(a)
        w, length = 0.035, 0.75
        corners = [(0.05, -w), (length, -w * 0.6), (length, w * 0.6), (0.05, w)]
        legs.append([ground_ring([(r * c - t * s, r * s + t * c) for r, t in corners])])
    return [hub, *legs]


def person(sway_deg: float = 0.0) -> list:
    """Head and shoulders seen from above: an ellipse off the nadir, plus an arm; turned by
    ``sway_deg`` about the nadir (the person swaying)."""
    c, s = math.cos(math.radians(sway_deg)), math.sin(math.radians(sway_deg))

    def turn(points):
        return [(x * c - z * s, x * s + z * c) for x, z in points]

    body = [(0.05 + 0.32 * math.cos(a), 0.22 * math.sin(a))
            for a in np.linspace(0, 2 * math.pi, 32, endpoint=False)]  # fmt: skip
    arm = [(0.2, 0.15), (0.55, 0.3), (0.5, 0.38), (0.12, 0.22)]
    return [[ground_ring(turn(body))], [ground_ring(turn(arm))]]


OCCLUDERS = {"tripod": tripod, "person": person}


def paste(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = image.copy()
    out[mask] = (40, 38, 36)
    return out


SYNTHETIC_SEEDS = {"street": 3, "room": 5}


def bare_render(kind: str, seed: int, width: int) -> np.ndarray:
    """A synthetic scene rendered without the camera's rig (its tripod, the room's cameraman):
    the true ground under the camera, which is what a fill should give back."""
    return render_scene(make_scene(kind, seed).without_rig(), width=width).rgb


def scene(label: str) -> np.ndarray:
    """One test image by its table label: a real panorama or ``synthetic-<kind>``."""
    if label.startswith("synthetic-"):
        kind = label.removeprefix("synthetic-")
        return bare_render(kind, SYNTHETIC_SEEDS[kind], WIDTH)
    return real(DATA / f"{label}_1k.hdr")


def images(quick: bool) -> list[tuple[str, np.ndarray]]:
    labels = [p.stem.replace("_1k", "") for p in sorted(DATA.glob("*.hdr"))]
    labels += [f"synthetic-{kind}" for kind in SYNTHETIC_SEEDS]
    if quick:
        labels = labels[:2] + labels[-1:]
    return [(label, scene(label)) for label in labels]
