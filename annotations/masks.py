"""Equirectangular masks and label maps of stored instances, as PNG bytes.

Rasterised exactly by the geometry core: a pixel is in an instance iff its centre
direction is inside the spherical polygon. Label maps paint instances in their drawing
order (later on top), the same order the UI uses.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from label360 import sphere

from .models import Instance, Panorama


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def instance_mask_png(instance: Instance, width: int) -> bytes:
    """8-bit PNG, 255 inside the instance, 0 outside, ``width`` × ``width/2``."""
    mask = sphere.rasterize(instance.geometry, width, width // 2)
    return _png(mask.astype(np.uint8) * 255)


def _drawn_instances(panorama: Panorama):
    """The instances a label map paints, in drawing order; suggestions are left out."""
    return Instance.objects.filter(panorama=panorama, is_suggestion=False).order_by("order", "id")


def _class_values(panorama: Panorama) -> dict[int, int]:
    """{class id: label value}: 1 + the class's position in the project's class order."""
    class_ids = panorama.project.classes.order_by("order", "name").values_list("id", flat=True)
    return {cid: k + 1 for k, cid in enumerate(class_ids)}


def label_legend(panorama: Panorama, by: str = "instance") -> dict[int, int]:
    """The legend of :func:`label_map_png` ({value: instance id or class id}), without
    rasterising anything."""
    if by == "class":
        return {value: cid for cid, value in _class_values(panorama).items()}
    ids = _drawn_instances(panorama).values_list("id", flat=True)
    return {k + 1: pk for k, pk in enumerate(ids)}


def label_map_png(panorama: Panorama, width: int, by: str = "instance") -> tuple[bytes, dict]:
    """16-bit PNG label map and its legend {value: id}.

    ``by="instance"``: value k+1 is the k-th instance in drawing order (legend gives its id).
    ``by="class"``: value is 1 + the class's position in the project's class order.
    Suggestions (unaccepted model output) are left out.
    """
    instances = list(_drawn_instances(panorama))
    geometries = [i.geometry for i in instances]
    labels = sphere.label_map(geometries, width, width // 2)
    if by == "class":
        value_of_class = _class_values(panorama)
        lookup = np.zeros(len(instances) + 1, np.int32)
        for k, instance in enumerate(instances):
            lookup[k + 1] = value_of_class[instance.label_class_id]
        labels = lookup[labels]
        legend = {value: cid for cid, value in value_of_class.items()}
    else:
        legend = {k + 1: instance.pk for k, instance in enumerate(instances)}
    if labels.max(initial=0) > 65535:
        raise ValueError("more than 65535 labels do not fit a 16-bit PNG")
    return _png(labels.astype(np.uint16)), legend
