"""The job API: permissions, visibility, duplicates (409), cancel/retry, assets, models."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import torch
from django.utils import timezone

from inference.models import DerivedAsset, Job, JobStatus, ModelWeights
from inference.registry import JobContext
from inference.services import submit_job

pytestmark = pytest.mark.django_db


def _create(client, project, panorama, **extra):
    body = {"kind": "depth", "project": project.pk, "panoramas": [panorama.pk], "params": {}}
    body.update(extra)
    return client.post("/api/jobs/", body, format="json")


@pytest.mark.parametrize(
    "role, expected", [("manager", 201), ("admin", 201), ("annotator", 403), ("viewer", 403)]
)
def test_create_needs_manager(users, project, panorama, client_for, role, expected):
    response = _create(client_for(users[role]), project, panorama)
    assert response.status_code == expected, response.content
    if expected == 201:
        job = Job.objects.get(pk=response.json()["id"])
        assert job.status == JobStatus.QUEUED and job.params["layout"] == "cube"
        assert list(job.panoramas.all()) == [panorama]


def test_outsider_gets_404(users, project, panorama, client_for):
    assert _create(client_for(users["outsider"]), project, panorama).status_code == 404
    job = submit_job("depth", users["manager"], project, [panorama], {})
    client = client_for(users["outsider"])
    assert client.get(f"/api/jobs/{job.pk}/").status_code == 404
    assert client.get("/api/jobs/").json()["count"] == 0
    assert client.post(f"/api/jobs/{job.pk}/cancel/").status_code == 404


def test_duplicate_submit_is_409_with_existing_job(users, project, panorama, client_for):
    client = client_for(users["manager"])
    first = _create(client, project, panorama, params={"fusion": "average"})
    assert first.status_code == 201
    second = _create(client, project, panorama, params={"fusion": "average"})
    assert second.status_code == 409
    assert second.json()["job"]["id"] == first.json()["id"]
    # different params are a different job
    assert _create(client, project, panorama, params={"fusion": "poisson"}).status_code == 201


def test_bad_params_and_kind_are_400(users, project, panorama, client_for):
    client = client_for(users["manager"])
    response = _create(client, project, panorama, params={"layout": "dodecahedron"})
    assert response.status_code == 400 and "layout" in response.json()["params"]
    response = _create(client, project, panorama, params={"estimator": "model"})
    assert response.status_code == 400 and "weights" in response.json()["params"]
    assert _create(client, project, panorama, kind="nope").status_code == 400
    # a misspelt field is refused, not dropped: the job would run on the whole project
    body = {"kind": "depth", "project": project.pk, "panorama": panorama.pk}
    response = client.post("/api/jobs/", body, format="json")
    assert response.status_code == 400
    assert "unknown field(s): panorama" in str(response.json())
    assert not Job.objects.exists()
    # the diagnostic kind is for admins only
    assert _create(client, project, panorama, kind="diagnostic").status_code == 403


def test_list_filters_and_detail(users, project, panorama, client_for):
    a = submit_job("depth", users["manager"], project, [panorama], {})
    submit_job("thumbnail", None, project, [panorama])
    client = client_for(users["viewer"])
    data = client.get("/api/jobs/", {"kind": "depth"}).json()
    assert [j["id"] for j in data["results"]] == [a.pk]
    assert client.get("/api/jobs/", {"status": "failed"}).json()["count"] == 0
    detail = client.get(f"/api/jobs/{a.pk}/").json()
    assert detail["progress"] == 0.0 and detail["status"] == "queued"


def test_cancel_and_retry(users, project, panorama, client_for):
    job = submit_job("depth", users["manager"], project, [panorama], {})
    assert client_for(users["viewer"]).post(f"/api/jobs/{job.pk}/cancel/").status_code == 403
    client = client_for(users["manager"])
    response = client.post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert client.post(f"/api/jobs/{job.pk}/cancel/").status_code == 409
    response = client.post(f"/api/jobs/{job.pk}/retry/")
    assert response.status_code == 200 and response.json()["status"] == "queued"
    # a running job (its worker sends heartbeats): cancel only raises the flag
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, heartbeat_at=timezone.now())
    response = client.post(f"/api/jobs/{job.pk}/cancel/")
    assert response.json()["status"] == "running" and response.json()["cancel_requested"]
    assert client.post(f"/api/jobs/{job.pk}/retry/").status_code == 409
    # ... its worker stops: the job is cancelled at once
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    response = client.post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_assets_list_filter_and_download(users, project, panorama, foreign_project, client_for):
    job = submit_job("depth", users["manager"], project, [panorama], {})
    ctx = JobContext(job)
    first = ctx.save_asset(panorama, "depth", "depth.npy", b"v1", {"a": 1})
    second = ctx.save_asset(panorama, "depth", "depth.npy", b"v2", {"a": 2})
    ctx.save_asset(panorama, "normals", "normals.npy", b"n", {})
    assert second.version == first.version + 1
    assert not DerivedAsset.objects.filter(pk=first.pk).exists()  # replaced
    client = client_for(users["viewer"])
    data = client.get("/api/assets/", {"panorama": panorama.pk, "kind": "depth"}).json()
    assert [a["id"] for a in data["results"]] == [second.pk]
    url = data["results"][0]["download_url"]
    assert url == f"/api/assets/{second.pk}/file/"
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"v2"
    assert client_for(users["outsider"]).get(url).status_code == 404


def _torchscript_bytes() -> bytes:
    module = torch.jit.script(torch.nn.Conv2d(3, 1, 1))
    buffer = io.BytesIO()
    torch.jit.save(module, buffer)
    return buffer.getvalue()


def test_model_upload_admin_only_and_validated(users, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = {"name": "tiny", "task": "depth", "input_size": 32, "output": "inverse"}
    upload = SimpleUploadedFile("m.pt", _torchscript_bytes())
    response = client_for(users["manager"]).post("/api/models/", {**body, "file": upload})
    assert response.status_code == 403
    admin = client_for(users["admin"])
    bad = admin.post("/api/models/", {**body, "file": SimpleUploadedFile("m.pt", b"not a model")})
    assert bad.status_code == 400 and "TorchScript" in str(bad.json()["file"])
    good = admin.post(
        "/api/models/", {**body, "file": SimpleUploadedFile("m.pt", _torchscript_bytes())}
    )
    assert good.status_code == 201, good.content
    assert client_for(users["viewer"]).get("/api/models/").json()["count"] == 1
    with pytest.raises(Exception, match="TorchScript"):
        from django.core.files.base import ContentFile

        ModelWeights(name="x", task="depth", file=ContentFile(b"junk", name="x.pt")).save()
