"""Shared builders for pre-labelling tests: synthetic panoramas stored as real rows."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from annotations.models import Instance, LabelClass
from annotations.uploads import store_panorama
from label360.synthetic import render

THING_CLASSES = ["building", "car", "person", "tree", "pole"]


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def ensure_classes(project) -> None:
    for k, name in enumerate(THING_CLASSES):
        LabelClass.objects.get_or_create(project=project, name=name, defaults={"order": k})


def synthetic_panorama(project, seed: int, width: int, status: str = "new", labelled=True):
    """A synthetic street stored as a Panorama, with its exact instances if ``labelled``."""
    ensure_classes(project)
    r = render("street", seed, width)
    pano = store_panorama(project, f"street_{seed}.png", png_bytes(r.rgb))
    truth = [(a["class"], a["geometry"]) for a in r.annotations if a["geometry"]]
    if labelled:
        classes = {c.name: c for c in LabelClass.objects.filter(project=project)}
        Instance.objects.bulk_create(
            [
                Instance(panorama=pano, label_class=classes[name], geometry=g, order=k)
                for k, (name, g) in enumerate(truth)
            ]
        )
    pano.status = status
    pano.save(update_fields=["status"])
    return pano, r, truth
