"""API: export requests (jobs, cache, download), imports, agreement rounds and reports."""

from __future__ import annotations

import io
import zipfile

import pytest

from annotations.models import Instance
from datasets.models import Export
from tests.factories import make_panorama

from .helpers import SEAM, SQUARE, export, label

pytestmark = pytest.mark.django_db(transaction=True)


def _run_queued_export_jobs() -> int:
    """What a worker does with the queued export jobs (run through the real job runner)."""
    from inference.models import Job
    from inference.runner import execute

    jobs = list(Job.objects.filter(kind="export", status="queued"))
    for job in jobs:
        execute(job.pk)
        job.refresh_from_db()
        assert job.status == "succeeded", job.error
    return len(jobs)


@pytest.mark.parametrize("inline", [True, False])
def test_viewer_exports_and_downloads_and_cache(
    project, panorama, users, client_for, settings, inline
):
    settings.LABEL360_EXPORTS_INLINE = inline
    label(panorama, [SQUARE, SEAM])
    client = client_for(users["viewer"])
    body = {"project": project.pk, "format": "coco"}
    first = client.post("/api/exports/", body, format="json")
    assert first.status_code == (200 if inline else 202), first.content
    assert _run_queued_export_jobs() == (0 if inline else 1)
    detail = client.get(f"/api/exports/{first.data['id']}/")
    assert detail.data["status"] == "ready", detail.data
    download = client.get(detail.data["download_url"])
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert "annotations/instances.json" in archive.namelist()
    again = client.post("/api/exports/", body, format="json")
    assert (
        again.status_code == 200 and again.data["cached"] and again.data["id"] == first.data["id"]
    )
    Instance.objects.filter(panorama=panorama).first().save()  # labels change: cache is stale
    fresh = client.post("/api/exports/", body, format="json")
    assert fresh.data["id"] != first.data["id"]


def test_outsiders_get_404(project, panorama, users, client_for):
    outsider = client_for(users["outsider"])
    assert (
        outsider.post(
            "/api/exports/", {"project": project.pk, "format": "coco"}, format="json"
        ).status_code
        == 404
    )
    export_ = Export.objects.create(project=project, format="coco", digest="x")
    assert outsider.get(f"/api/exports/{export_.pk}/download/").status_code == 404
    assert client_for(None).get("/api/exports/").status_code in (401, 403)


def test_import_api_managers_only(project, panorama, users, client_for, tmp_path, settings):
    settings.LABEL360_IMPORTS_INLINE = True
    label(panorama, [SQUARE])
    path = export(project, tmp_path, format="label360")
    Instance.objects.all().delete()

    def post(user):
        with open(path, "rb") as handle:
            return client_for(user).post(
                "/api/imports/",
                {"project": project.pk, "format": "label360", "file": handle},
                format="multipart",
            )

    assert post(users["viewer"]).status_code == 403
    assert post(users["outsider"]).status_code == 404
    response = post(users["manager"])
    assert response.status_code == 200, response.data
    assert response.data["status"] == "done"
    assert response.data["report"]["instances_created"] == 1
    assert Instance.objects.filter(panorama=panorama).count() == 1


def test_agreement_round_report(project, panorama, users, client_for):
    car = project.classes.get(name="car").pk
    building = project.classes.get(name="building").pk
    manager = client_for(users["manager"])
    created = manager.post(
        "/api/agreement-rounds/",
        {
            "project": project.pk,
            "name": "r1",
            "panoramas": [panorama.pk],
            "annotators": [users["annotator"].pk, users["reviewer"].pk],
        },
        format="json",
    )
    assert created.status_code == 201, created.data
    rid = created.data["id"]
    shifted = [[[[22.0, -5.0], [42.0, -5.0], [42.0, 15.0], [22.0, 15.0]]]]
    replicas = {
        "annotator": [
            {"label_class": car, "geometry": SQUARE},
            {"label_class": building, "geometry": SEAM},
        ],
        "reviewer": [{"label_class": car, "geometry": shifted}],
    }
    for name, instances in replicas.items():
        r = client_for(users[name]).put(
            f"/api/agreement-rounds/{rid}/panoramas/{panorama.pk}/replica/",
            {"instances": instances, "submitted": True, "base_revision": 0},
            format="json",
        )
        assert r.status_code == 200, r.data
    assert (
        client_for(users["viewer"])
        .put(
            f"/api/agreement-rounds/{rid}/panoramas/{panorama.pk}/replica/",
            {"instances": []},
            format="json",
        )
        .status_code
        == 403
    )
    label(panorama, [SQUARE])  # the reference (main table): one car
    report = client_for(users["viewer"]).get(f"/api/agreement-rounds/{rid}/report/").data
    pair = next(p for p in report["pairs"] if p["a"] == "annotator" and p["b"] == "reviewer")
    assert pair["classes"]["car"]["iou"] == pytest.approx(18 / 22, abs=0.01)
    assert pair["classes"]["car"]["matched"] == 1
    assert pair["classes"]["building"]["unmatched_a"] == 1
    assert any(d["kind"] == "only_in_a" and d["class"] == "building" for d in pair["disagreements"])
    ref = next(p for p in report["pairs"] if p["a"] == "reference" and p["b"] == "annotator")
    assert ref["classes"]["car"]["iou"] == pytest.approx(1.0)
    csv = client_for(users["viewer"]).get(f"/api/agreement-rounds/{rid}/report/?as=csv")
    assert csv.status_code == 200 and b"annotator,reviewer,car" in csv.content
    assert (
        client_for(users["outsider"]).get(f"/api/agreement-rounds/{rid}/report/").status_code == 404
    )
    assert make_panorama  # factories imported for symmetry with other modules


def test_agreement_rounds_filter_by_project(project, foreign_project, users, client_for):
    from datasets.models import AgreementRound

    AgreementRound.objects.create(project=project, name="mine")
    AgreementRound.objects.create(project=foreign_project, name="theirs")
    admin = client_for(users["admin"])
    rows = admin.get(f"/api/agreement-rounds/?project={project.pk}").json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    assert [r["name"] for r in rows] == ["mine"]


def test_agreement_round_cannot_move_to_another_project(
    project, foreign_project, panorama, users, client_for
):
    """A round names its project: a PATCH that names another (one the manager does not belong
    to, or one they manage) is refused, and the other project's members never see it."""
    from datasets.models import AgreementRound

    manager = client_for(users["manager"])
    created = manager.post(
        "/api/agreement-rounds/",
        {
            "project": project.pk,
            "name": "r1",
            "panoramas": [panorama.pk],
            "annotators": [users["annotator"].pk],
        },
        format="json",
    )
    assert created.status_code == 201, created.data
    rid = created.data["id"]
    moved = manager.patch(
        f"/api/agreement-rounds/{rid}/", {"project": foreign_project.pk}, format="json"
    )
    assert moved.status_code == 400
    assert AgreementRound.objects.get(pk=rid).project_id == project.pk
    same = manager.patch(f"/api/agreement-rounds/{rid}/", {"project": project.pk}, format="json")
    assert same.status_code == 200, same.data
