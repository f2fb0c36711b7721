"""Re-imports: idempotent by default (panoramas matched by checksum, instances replaced),
``--append`` adds; a file whose items were all skipped writes nothing and is not committed
(a panorama is never emptied because its instances could not be read); the COCO round trip
keeps the classes' is_ignore / is_group flags."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from annotations.models import Instance, LabelClass
from datasets.importers.run import run_import
from tests.factories import make_panorama, make_project

from .helpers import HOLED, SEAM, SQUARE, export, label, read_json

pytestmark = pytest.mark.django_db

W, H = 256, 128
POLY = [10.0, 10.0, 60.0, 12.0, 50.0, 40.0, 12.0, 35.0]


def _coco_by_checksum(pano, segmentations) -> dict:
    """A COCO file whose image is named differently from the panorama: only the checksum
    (``label360.sha256``) can match it."""
    return {
        "images": [
            {
                "id": 7,
                "file_name": "renamed_by_someone.jpg",
                "width": W,
                "height": H,
                "label360": {"sha256": pano.sha256},
            }
        ],
        "categories": [{"id": 3, "name": "car"}],
        "annotations": [
            {"id": k + 1, "image_id": 7, "category_id": 3, "segmentation": s}
            for k, s in enumerate(segmentations)
        ],
    }


def _command(project, path, *flags) -> dict:
    out = io.StringIO()
    call_command(
        "import_dataset", str(project.pk), str(path), "--format", "coco", *flags, stdout=out
    )
    return json.loads(out.getvalue())


def test_reimport_through_the_command_matches_by_checksum_and_replaces(project, tmp_path):
    pano = make_panorama(project, seed=3, width=W)
    label(pano, [SQUARE])  # labels already there are replaced too
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(_coco_by_checksum(pano, [[POLY], [[100, 50, 140, 50, 120, 90]]])))
    first = _command(project, path)
    assert first["committed"] and first["panoramas_updated"] == 1
    assert first["instances_replaced"] == 1 and first["panoramas_created"] == 0
    geometries = sorted(map(json.dumps, Instance.objects.values_list("geometry", flat=True)))
    second = _command(project, path)
    assert second["instances_replaced"] == 2 and second["instances_created"] == 2
    assert sorted(map(json.dumps, Instance.objects.values_list("geometry", flat=True))) == (
        geometries
    )
    appended = _command(project, path, "--append")
    assert appended["instances_replaced"] == 0
    assert Instance.objects.filter(panorama=pano).count() == 4
    with pytest.raises(CommandError):
        _command(project, path, "--append", "--replace")


def test_coco_file_with_every_annotation_skipped_changes_nothing(project, tmp_path):
    pano = make_panorama(project, seed=3, width=W)
    kept = label(pano, [SQUARE, HOLED])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_coco_by_checksum(pano, [[[1.0, 2.0, "x", 3, 4, 5]]])))
    report = run_import(project, "coco", str(path))
    assert not report.committed
    assert report.error.startswith("nothing was imported: all 1 item(s) were skipped")
    assert report.instances_replaced == 0
    assert sorted(Instance.objects.values_list("pk", flat=True)) == sorted(i.pk for i in kept)
    with pytest.raises(CommandError, match="nothing was imported"):
        _command(project, path)


def test_label360_file_with_every_instance_skipped_is_not_committed(project, tmp_path):
    pano = make_panorama(project, seed=5, width=64)
    kept = label(pano, [SQUARE, SEAM])
    data = read_json(export(project, tmp_path, format="label360"), "label360.json")
    for inst in data["panoramas"][0]["instances"]:
        inst["geometry"] = [[[[0, 0], [0, 0], [1, 1]]]]
    data["panoramas"][0]["status"] = "submitted"
    path = tmp_path / "all-bad.json"
    path.write_text(json.dumps(data))
    report = run_import(project, "label360", str(path))
    assert not report.committed and "nothing was imported" in report.error
    assert len(report.skipped) == 2
    pano.refresh_from_db()
    assert pano.status == "new"  # untouched: not even its status was restored
    assert sorted(Instance.objects.values_list("pk", flat=True)) == sorted(i.pk for i in kept)


def test_panorama_whose_instances_were_all_skipped_is_left_unchanged(project, tmp_path):
    """One panorama imports; another's instances are all unreadable: that one keeps its own
    labels (replacing them with nothing would lose work) and the report says so."""
    good = make_panorama(project, seed=1, width=W)
    bad = make_panorama(project, seed=2, width=W)
    kept = label(bad, [SQUARE])
    doc = _coco_by_checksum(good, [[POLY]])
    doc["images"].append({"id": 8, "file_name": bad.original_name, "width": W, "height": H})
    doc["annotations"].append(
        {"id": 99, "image_id": 8, "category_id": 3, "segmentation": [[1.0, 2.0, "x", 3, 4, 5]]}
    )
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(doc))
    report = run_import(project, "coco", str(path))
    assert report.committed and report.instances_created == 1
    assert list(Instance.objects.filter(panorama=bad).values_list("pk", flat=True)) == [kept[0].pk]
    assert any("left unchanged" in w for w in report.warnings)


def test_coco_round_trip_keeps_ignore_and_group_flags(project, tmp_path):
    pano = make_panorama(project, seed=8, width=W)
    LabelClass.objects.filter(project=project, name="car").update(is_group=True)
    LabelClass.objects.filter(project=project, name="building").update(is_ignore=True)
    label(pano, [SQUARE, HOLED])
    path = export(project, tmp_path, format="coco", include_images=True)
    target = make_project("Copy")
    LabelClass.objects.filter(project=target).delete()
    report = run_import(target, "coco", str(path))
    assert report.committed, report
    flags = {c.name: (c.is_ignore, c.is_group) for c in LabelClass.objects.filter(project=target)}
    assert flags == {"car": (False, True), "building": (True, False)}
    # and exported again, the categories and iscrowd flags are the same
    again = tmp_path / "again"
    again.mkdir()
    second = read_json(export(target, again, format="coco"), "annotations/instances.json")
    first = read_json(path, "annotations/instances.json")

    def shape(doc):
        names = {c["id"]: c["name"] for c in doc["categories"]}
        cats = sorted((c["name"], c["is_ignore"], c["is_group"]) for c in doc["categories"])
        anns = sorted((names[a["category_id"]], a["iscrowd"]) for a in doc["annotations"])
        return cats, anns

    assert shape(first) == shape(second)
