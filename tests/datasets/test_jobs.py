"""Imports and exports as background jobs: progress, cancel, bounded reports, upload limits;
failed exports never stay running and are never served from the cache."""

from __future__ import annotations

import io
import json

import pytest

from annotations.models import Instance, LabelClass
from datasets.models import Export, Import
from tests.factories import make_panorama

from .helpers import SQUARE, label

pytestmark = pytest.mark.django_db(transaction=True)

W, H = 256, 128


def _jobs(kind: str):
    from inference.models import Job

    return list(Job.objects.filter(kind=kind).order_by("id"))


def _execute(job) -> None:
    from inference.runner import execute

    execute(job.pk)
    job.refresh_from_db()


def _coco_file(pano, n_bad=0) -> io.BytesIO:
    anns = [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[10, 10, 60, 12, 50, 40]]}]
    anns += [
        {"id": 2 + k, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, "x", 2, 3, 4]]}
        for k in range(n_bad)
    ]
    doc = {
        "images": [{"id": 1, "file_name": pano.original_name, "width": W, "height": H}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": anns,
    }
    f = io.BytesIO(json.dumps(doc).encode())
    f.name = "coco.json"
    return f


def _post_import(client, project, upload, **extra):
    return client.post(
        "/api/imports/",
        {"project": project.pk, "format": "coco", "file": upload, **extra},
        format="multipart",
    )


def test_import_runs_as_a_job_with_a_bounded_report(project, users, client_for):
    pano = make_panorama(project, seed=1, width=W)
    manager = client_for(users["manager"])
    response = _post_import(manager, project, _coco_file(pano, n_bad=150))
    assert response.status_code == 202, response.data
    row = Import.objects.get(pk=response.data["id"])
    assert row.status == "pending" and Instance.objects.count() == 0
    (job,) = _jobs("import")
    _execute(job)
    assert job.status == "succeeded" and job.progress == 1.0
    detail = manager.get(f"/api/imports/{row.pk}/").data
    assert detail["status"] == "done" and detail["job"]["status"] == "succeeded"
    report = detail["report"]
    assert report["instances_created"] == 1 and report["skipped_count"] == 150
    assert len(report["skipped"]) == 100 and report["truncated"]
    full = manager.get(detail["report_url"])
    assert full.status_code == 200
    assert len(json.loads(b"".join(full.streaming_content))["skipped"]) == 150
    assert Instance.objects.filter(panorama=pano).count() == 1
    listed = manager.get(f"/api/imports/?project={project.pk}").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["id"] for r in rows] == [row.pk]
    assert client_for(users["outsider"]).get(f"/api/imports/{row.pk}/").status_code == 404


def test_failed_import_fails_its_job_with_the_reason(project, users, client_for):
    pano = make_panorama(project, seed=1, width=W)
    doc = _coco_file(pano)
    data = json.loads(doc.getvalue())
    data["annotations"] = [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": "x"}]
    upload = io.BytesIO(json.dumps(data).encode())
    upload.name = "coco.json"
    response = _post_import(client_for(users["manager"]), project, upload)
    (job,) = _jobs("import")
    _execute(job)
    assert job.status == "failed" and "nothing was imported" in job.error
    row = Import.objects.get(pk=response.data["id"])
    assert row.status == "failed" and "segmentation must be" in row.report["skipped"][0]["reason"]


def test_cancelled_import_writes_nothing(project, users, client_for, monkeypatch):
    import datasets.imports
    from inference.models import Job

    pano = make_panorama(project, seed=1, width=W)
    manager = client_for(users["manager"])
    first = _post_import(manager, project, _coco_file(pano)).data
    answer = manager.post(f"/api/imports/{first['id']}/cancel/")
    assert answer.status_code == 200 and answer.data["status"] == "cancelled"
    # a running import stops at its next cancellation point and rolls back
    second = _post_import(manager, project, _coco_file(pano)).data
    job = Job.objects.get(pk=second["job_id"])
    real = datasets.imports.run_import

    def cancel_meanwhile(*args, **kwargs):
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        return real(*args, **kwargs)

    monkeypatch.setattr(datasets.imports, "run_import", cancel_meanwhile)
    _execute(job)
    assert job.status == "cancelled"
    assert manager.get(f"/api/imports/{second['id']}/").data["status"] == "cancelled"
    assert Instance.objects.count() == 0
    # a job cancelled before it ran leaves its import cancelled too
    third = _post_import(manager, project, _coco_file(pano)).data
    Job.objects.filter(pk=third["job_id"]).update(status="cancelled")
    assert manager.get(f"/api/imports/{third['id']}/").data["status"] == "cancelled"


def test_upload_over_the_limit_is_refused(project, users, client_for, settings):
    settings.LABEL360_MAX_IMPORT_BYTES = 100
    pano = make_panorama(project, seed=1, width=W)
    response = _post_import(client_for(users["manager"]), project, _coco_file(pano))
    assert response.status_code == 413 and "at most 100 bytes" in response.data["detail"]
    assert Import.objects.count() == 0


def test_append_and_replace_contradiction_is_400(project, users, client_for):
    pano = make_panorama(project, seed=1, width=W)
    response = _post_import(
        client_for(users["manager"]), project, _coco_file(pano), append=True, replace=True
    )
    assert response.status_code == 400 and "append" in response.data


VIEW = {"yaw": 10, "pitch": 0, "roll": 5, "hfov": 90, "width": 64, "height": 48}


def test_nfov_list_export_through_the_api_finishes(project, panorama, users, client_for):
    label(panorama, [SQUARE])
    body = {"project": project.pk, "format": "coco_views", "views": "list", "view_list": [VIEW]}
    client = client_for(users["viewer"])
    first = client.post("/api/exports/", body, format="json")
    assert first.status_code == 202, first.data
    (job,) = _jobs("export")
    _execute(job)
    assert job.status == "succeeded", job.error
    assert Export.objects.get(pk=first.data["id"]).status == "ready"


def test_failed_export_is_marked_and_never_served_as_cached(
    project, panorama, users, client_for, monkeypatch
):
    label(panorama, [SQUARE])
    client = client_for(users["viewer"])
    body = {"project": project.pk, "format": "coco"}

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("datasets.services.write_export", explode)
    first = client.post("/api/exports/", body, format="json").data
    (job,) = _jobs("export")
    _execute(job)
    assert job.status == "failed"
    row = Export.objects.get(pk=first["id"])
    assert row.status == "failed" and "disk full" in row.error
    again = client.post("/api/exports/", body, format="json").data
    assert again["id"] != first["id"] and not again["cached"]


def test_stuck_running_export_is_not_a_cache_hit(project, panorama, users, client_for):
    from inference.models import Job

    label(panorama, [SQUARE])
    client = client_for(users["viewer"])
    body = {"project": project.pk, "format": "coco"}
    first = client.post("/api/exports/", body, format="json").data
    Export.objects.filter(pk=first["id"]).update(status="running")
    Job.objects.filter(pk=first["job_id"]).update(status="failed")
    again = client.post("/api/exports/", body, format="json").data
    assert again["id"] != first["id"] and not again["cached"]
    assert Export.objects.get(pk=first["id"]).status == "failed"


@pytest.mark.parametrize(
    "body, fragment",
    [
        (
            {"format": "coco_views", "views": "list", "view_list": [{**VIEW, "yaw": "nan"}]},
            "finite",
        ),
        (
            {"format": "coco_views", "views": "list", "view_list": [{**VIEW, "hfov": "1e400"}]},
            "finite",
        ),
        ({"format": "coco_views", "views": "list", "view_list": [[1, 2, 3]]}, "view_list"),
        ({"format": "coco", "classes": [10**30]}, ""),  # refused by the JSON parser
        ({"format": "coco", "classes": [2**63 + 5]}, "classes"),
    ],
)
def test_bad_export_options_are_400(project, users, client_for, body, fragment):
    response = client_for(users["viewer"]).post(
        "/api/exports/", {"project": project.pk, **body}, format="json"
    )
    assert response.status_code == 400 and fragment in json.dumps(response.data)


def test_png_export_limits_are_400(project, panorama, users, client_for):
    client = client_for(users["viewer"])
    for k in range(70):
        LabelClass.objects.create(project=project, name=f"k{k}", order=10 + k)
    body = {"project": project.pk, "format": "png", "classes": [project.classes.get(name="k69").pk]}
    response = client.post("/api/exports/", body, format="json")
    assert response.status_code == 400 and "class number 72" in response.data["options"]
    assert "png_ids='sequential'" in response.data["options"]
    LabelClass.objects.filter(name__startswith="k").delete()
    car = project.classes.get(name="car")
    Instance.objects.bulk_create(
        [
            Instance(panorama=panorama, label_class=car, geometry=SQUARE, order=k)
            for k in range(1000)
        ]
    )
    response = client.post("/api/exports/", {"project": project.pk, "format": "png"}, format="json")
    assert response.status_code == 400 and "at most 999" in response.data["options"]
