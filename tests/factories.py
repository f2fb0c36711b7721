"""Small builders for test data: users with roles, projects, classes, panorama files."""

from __future__ import annotations

import io

import numpy as np
from django.contrib.auth import get_user_model
from PIL import Image

from annotations.models import LabelClass, Membership, Project
from annotations.uploads import store_panorama

PASSWORD = "pass-for-tests-123"
ROLES = ["manager", "annotator", "reviewer", "viewer"]


def make_user(username: str, staff: bool = False):
    User = get_user_model()
    return User.objects.create_user(
        username=username, password=PASSWORD, is_staff=staff, is_superuser=staff
    )


def make_project(name: str = "Streets", roles: dict | None = None) -> Project:
    project = Project.objects.create(name=name)
    for role, user in (roles or {}).items():
        Membership.objects.create(project=project, user=user, role=role)
    LabelClass.objects.create(project=project, name="car", color="#ff0000", order=0)
    LabelClass.objects.create(project=project, name="building", color="#0000ff", order=1)
    return project


def panorama_bytes(
    width: int = 64, height: int = 32, fmt: str = "JPEG", seed: int = 0, pattern: bool = True
) -> bytes:
    """A small equirectangular image (a smooth gradient plus a seed-dependent offset)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), 0 * x], -1)
    pixels = (base + rng.integers(0, 40, size=3)).clip(0, 255).astype(np.uint8)
    if not pattern:
        pixels[:] = rng.integers(0, 255, size=3)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def make_panorama(project: Project, seed: int = 0, width: int = 64, name: str | None = None):
    return store_panorama(
        project, name or f"pano_{seed}.jpg", panorama_bytes(width, width // 2, seed=seed)
    )


def square_geometry(lon: float = 0.0, lat: float = 0.0, half: float = 10.0) -> list:
    """A small spherical 'square' centred on (lon, lat) (valid for |lat| < 70)."""

    def wrap(x: float) -> float:
        return x if -180 <= x < 180 else ((x + 180) % 360) - 180

    corners = [(-half, -half), (half, -half), (half, half), (-half, half)]
    return [[[[wrap(lon + dx), lat + dy] for dx, dy in corners]]]
