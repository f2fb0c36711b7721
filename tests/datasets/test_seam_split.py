"""``seam='split'``: objects across the ±180° seam become two COCO annotations whose masks
are exactly the original mask (disjoint, together everything), each with a tight box."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

from datasets import geom
from datasets.exporters.coco import encode_geometry
from tests.factories import make_panorama

from .helpers import CAP, SEAM, SQUARE, export, label, read_json

pytestmark = pytest.mark.django_db

W, H = 256, 128
#: across the seam, with a hole that the seam cuts in two
HOLED_SEAM = [
    [
        [[160.0, -20.0], [-160.0, -20.0], [-160.0, 25.0], [160.0, 25.0]],
        [[175.0, -5.0], [175.0, 10.0], [-175.0, 10.0], [-175.0, -5.0]],
    ]
]
#: two parts, one across the seam
TWO_PARTS = [SEAM[0], [[[100.0, 40.0], [120.0, 40.0], [110.0, 55.0]]]]


def _decode(seg: dict) -> np.ndarray:
    return mask_utils.decode({"size": seg["size"], "counts": seg["counts"].encode()}).astype(bool)


def _check_parts(geometry, width=W, height=H) -> list[dict]:
    whole = geom.rasterize(geometry, width, height)
    parts = encode_geometry(geometry, width, height, seam_split=True)
    assert len(parts) == 2 and [p["seam_part"] for p in parts] == ["west", "east"]
    assert all(p["seam_exact"] for p in parts)  # the clipped geometries, not the fallback
    masks = [_decode(p["segmentation"]) for p in parts]
    assert not (masks[0] & masks[1]).any()
    assert np.array_equal(masks[0] | masks[1], whole)
    for part, mask in zip(parts, masks, strict=True):
        assert part["area"] == int(mask.sum())
        assert part["bbox"] == part["bbox_wrapped"]  # neither part crosses the seam
        assert part["bbox"][2] < width / 2
    west, east = masks
    assert not west[:, width // 2 :].any() and not east[:, : width // 2].any()
    full = geom.area(geometry)
    assert parts[0]["area_sr"] + parts[1]["area_sr"] == pytest.approx(full, rel=1e-9)
    return parts


@pytest.mark.parametrize("geometry", [SEAM, HOLED_SEAM, TWO_PARTS])
def test_split_parts_rasterise_exactly_to_the_original(geometry):
    _check_parts(geometry)


def test_objects_not_across_the_seam_stay_whole():
    for geometry in (SQUARE, CAP):
        (only,) = encode_geometry(geometry, W, H, seam_split=True)
        assert "seam_part" not in only


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    centre_lat=st.floats(-60, 60),
    centre_lon=st.floats(170, 190),
    half_w=st.floats(2, 30),
    half_h=st.floats(1, 20),
    wobble=st.lists(st.floats(-0.4, 0.4), min_size=8, max_size=8),
    size=st.sampled_from([(128, 64), (256, 128), (360, 180)]),
)
def test_split_is_exact_for_random_shapes_across_the_seam(
    centre_lat, centre_lon, half_w, half_h, wobble, size
):
    """Octagons of any size and shape straddling the seam, on grids of several sizes."""
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    ring = []
    for a, w in zip(angles, wobble, strict=True):
        lon = centre_lon + half_w * (1 + w) * np.cos(a)
        lat = float(np.clip(centre_lat + half_h * (1 + w) * np.sin(a), -80, 80))
        ring.append([((lon + 180) % 360) - 180, lat])
    geometry = [[ring]]
    if geom.problems(geometry):
        return
    width, height = size
    encs = encode_geometry(geometry, width, height, seam_split=True)
    whole = geom.rasterize(geometry, width, height)
    masks = [_decode(e["segmentation"]) for e in encs]
    union = np.zeros_like(whole)
    for m in masks:
        assert not (union & m).any()
        union |= m
    assert np.array_equal(union, whole)
    if len(encs) == 2:
        assert all(e["seam_exact"] for e in encs)


def test_seam_split_export(project, tmp_path):
    pano = make_panorama(project, seed=3, width=W)
    inst = label(pano, [SEAM, SQUARE])
    data = read_json(
        export(project, tmp_path, format="coco", seam="split"), "annotations/instances.json"
    )
    seam = [a for a in data["annotations"] if a["label360"]["instance_id"] == inst[0].pk]
    assert [a["label360"]["seam_part"] for a in seam] == ["west", "east"]
    assert len({a["id"] for a in data["annotations"]}) == 3
    union = _decode(seam[0]["segmentation"]) | _decode(seam[1]["segmentation"])
    assert np.array_equal(union, geom.rasterize(SEAM, W, H))
    assert all(a["bbox"][2] < W / 2 for a in seam)
    assert "two annotations" in data["info"]["seam"]
    whole = read_json(export(project, tmp_path, format="coco"), "annotations/instances.json")
    assert len(whole["annotations"]) == 2 and "full-width" in whole["info"]["seam"]


def test_seam_split_is_refused_for_other_formats():
    from datasets.selection import ExportOptions, OptionsError

    with pytest.raises(OptionsError, match="coco format only"):
        ExportOptions.from_dict({"format": "png", "seam": "split"})


def test_split_export_imports_back_as_one_instance_per_object(project, tmp_path):
    from annotations.models import Instance
    from datasets.importers.run import run_import

    pano = make_panorama(project, seed=5, width=W)
    label(pano, [SEAM, SQUARE])
    path = export(project, tmp_path, format="coco", seam="split")
    Instance.objects.all().delete()
    report = run_import(project, "coco", str(path))
    assert report.committed and report.instances_created == 2
    assert report.converted.get("seam_parts_joined") == 1
    seam = Instance.objects.get(panorama=pano, order=0)
    assert len(seam.geometry) == 1  # one part across the seam, not two halves
    back = geom.rasterize(seam.geometry, W, H)
    original = geom.rasterize(SEAM, W, H)
    assert (back ^ original).sum() <= 0.15 * original.sum()


HALF = st.fixed_dictionaries(
    {
        "image_id": st.sampled_from([1, 2, "1", None, [1]]),
        "segmentation": st.one_of(
            st.fixed_dictionaries(
                {
                    "size": st.sampled_from([[8, 16], [16, 8], [8], "x"]),
                    "counts": st.one_of(
                        st.text(max_size=12),
                        st.lists(st.integers(-5, 200), max_size=6),
                    ),
                }
            ),
            st.lists(st.floats(), max_size=6),
        ),
        "label360": st.fixed_dictionaries(
            {
                "seam_part": st.sampled_from(["west", "east", "north", None]),
                "instance_id": st.sampled_from([7, 8, "7", None, {}]),
            }
        ),
    }
)


@settings(max_examples=300, deadline=None)
@given(st.lists(HALF, max_size=6))
def test_fuzz_seam_halves_on_import(annotations):
    """Hostile 'halves' never crash the join: unreadable ones are left for the normal path."""
    from datasets.importers.coco import _merge_seam_parts
    from datasets.importers.common import ImportReport

    images = {1: {"w": 16, "h": 8}}
    out = _merge_seam_parts(annotations, images, ImportReport(format="coco"))
    assert len(out) <= len(annotations) and all(isinstance(a, dict) for a in out)
