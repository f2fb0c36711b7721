"""Instance attributes and active annotation time in the exports: COCO (equirect and views) and
Label360 JSON carry each instance's attributes; the panorama entries carry the active time;
a change of either changes the export's cache key."""

from __future__ import annotations

import pytest
from django.utils import timezone

from annotations.models import ActiveTime, LabelClass
from datasets.selection import ExportOptions, export_digest
from tests.factories import make_panorama

from .helpers import SQUARE, export, label, read_json

pytestmark = pytest.mark.django_db

SCHEMA = [
    {"name": "occluded", "type": "bool"},
    {"name": "kind", "type": "enum", "options": ["van"]},
]


@pytest.fixture
def labelled(project, users):
    LabelClass.objects.filter(project=project).update(attribute_schema=SCHEMA)
    pano = make_panorama(project, seed=3, width=256)
    (inst,) = label(
        pano, [SQUARE], users["annotator"], attributes={"occluded": True, "kind": "van"}
    )
    ActiveTime.objects.create(
        user=users["annotator"], panorama=pano, day=timezone.localdate(), seconds=75.5,
        last_beat=timezone.now(),
    )  # fmt: skip
    return pano, inst


def test_coco_carries_attributes_and_active_time(project, labelled, tmp_path):
    pano, inst = labelled
    coco = read_json(export(project, tmp_path, format="coco"), "annotations/instances.json")
    (ann,) = coco["annotations"]
    assert ann["attributes"] == {"occluded": True, "kind": "van"}
    (image,) = coco["images"]
    assert image["label360"]["active_seconds"] == 75.5
    assert image["label360"]["active_time"] == {"annotator": 75.5}


def test_coco_views_carry_attributes(project, labelled, tmp_path):
    coco = read_json(
        export(project, tmp_path, format="coco_views", face_size=64), "annotations/instances.json"
    )
    assert coco["annotations"]
    assert all(a["attributes"] == {"occluded": True, "kind": "van"} for a in coco["annotations"])


def test_label360_carries_attributes_schema_and_time(project, labelled, tmp_path):
    data = read_json(export(project, tmp_path, format="label360"), "label360.json")
    (pano,) = data["panoramas"]
    assert pano["instances"][0]["attributes"] == {"occluded": True, "kind": "van"}
    assert pano["active_time"] == {"annotator": 75.5}
    assert all(c["attribute_schema"] == SCHEMA for c in data["classes"])


def test_cache_key_follows_attributes_schema_and_time(project, labelled):
    pano, inst = labelled
    options = ExportOptions.from_dict({"format": "coco"})
    first = export_digest(project, options)
    ActiveTime.objects.update(seconds=80.0, last_beat=timezone.now())
    second = export_digest(project, options)
    assert second != first
    LabelClass.objects.filter(project=project, name="car").update(attribute_schema=[])
    assert export_digest(project, options) != second
