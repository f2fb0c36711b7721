"""Running jobs in-process: states, clear failures, cancellation, idempotency, upload hook,
the depth job's outputs and the admin action."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.base import ContentFile

from inference.models import DerivedAsset, Job, JobStatus
from inference.registry import ParamsError
from inference.runner import execute
from inference.services import submit_job
from tests.factories import make_panorama

pytestmark = pytest.mark.django_db


def test_success_progress_and_idempotency(users, project):
    job = submit_job("diagnostic", users["admin"], project, params={"steps": 3, "step_seconds": 0})
    assert execute(job.pk) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.progress == 1.0 and job.result == {"steps": 3, "attempt": 1} and job.finished_at
    assert execute(job.pk) == ""  # re-delivery of a finished job: no-op
    job.refresh_from_db()
    assert job.attempts == 1


def test_redelivered_running_job_restarts_cleanly(users, project):
    job = submit_job("diagnostic", users["admin"], project, params={"steps": 2, "step_seconds": 0})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=1, progress=0.5)
    assert execute(job.pk) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.attempts == 2 and job.result["attempt"] == 2


def test_failures_have_clear_messages(users, project, panorama, monkeypatch):
    job = submit_job("diagnostic", users["admin"], project, params={"steps": 3, "fail_at": 1})
    assert execute(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.error == "diagnostic failure requested at step 1"
    # params that bypassed validation fail clearly in the worker
    bad = Job.objects.create(kind="depth", project=project, params={"layout": "blob"})
    bad.panoramas.add(panorama)
    execute(bad.pk)
    bad.refresh_from_db()
    assert bad.status == "failed" and bad.error.startswith("invalid params: layout must be")
    # missing weights: refused at submission; deleted after submission: a clear job error
    with pytest.raises(ParamsError, match="model weights #999 do not exist"):
        submit_job(
            "depth", users["manager"], project, [panorama], {"estimator": "model", "weights": 999}
        )
    job = Job.objects.create(
        kind="depth", project=project, params={"estimator": "model", "weights": 999}
    )
    job.panoramas.add(panorama)
    execute(job.pk)
    job.refresh_from_db()
    assert job.error == "invalid params: model weights #999 do not exist"
    # unreadable image
    panorama.image.storage.delete(panorama.image.name)
    panorama.image.storage.save(panorama.image.name, ContentFile(b"garbage"))
    job = submit_job("depth", users["manager"], project, [panorama], {"fusion": "average"})
    execute(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.error.startswith(f"could not read panorama {panorama.pk}")
    # an unexpected exception: one line, no traceback
    import inference.kinds as kinds

    monkeypatch.setattr(kinds.time, "sleep", lambda s: 1 / 0)
    job = submit_job("diagnostic", users["admin"], project, params={"steps": 1, "token": "x"})
    execute(job.pk)
    job.refresh_from_db()
    assert job.error == "unexpected error: ZeroDivisionError: division by zero"
    assert "Traceback" not in job.error


def test_cancellation_between_steps(users, project, monkeypatch):
    job = submit_job("diagnostic", users["admin"], project, params={"steps": 10, "step_seconds": 0})
    import inference.kinds as kinds

    calls = []

    def sleep(seconds):
        calls.append(seconds)
        if len(calls) == 3:  # someone cancels while step 3 runs
            Job.objects.filter(pk=job.pk).update(cancel_requested=True)

    monkeypatch.setattr(kinds.time, "sleep", sleep)
    assert execute(job.pk) == JobStatus.CANCELLED
    job.refresh_from_db()
    assert len(calls) == 3 and job.progress < 0.5


def test_upload_queues_thumbnail_on_interactive_queue(
    project, django_capture_on_commit_callbacks, monkeypatch
):
    from inference import tasks

    sent = []
    monkeypatch.setattr(tasks.run_job, "apply_async", lambda **kw: sent.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        pano = make_panorama(project, seed=7)
    job = Job.objects.get(kind="thumbnail")
    assert list(job.panoramas.all()) == [pano]
    assert sent and sent[0]["queue"] == "interactive" and sent[0]["args"] == [job.pk]
    assert execute(job.pk) == JobStatus.SUCCEEDED
    asset = DerivedAsset.objects.get(panorama=pano, kind="thumbnail")
    assert asset.file.read()[:2] == b"\xff\xd8"


def test_depth_job_with_geometric_prior_writes_outputs(users, project):
    pano = make_panorama(project, seed=3, width=128)
    job = submit_job("depth", users["manager"], project, [pano], {"view_size": 48})
    assert execute(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    kinds = set(DerivedAsset.objects.filter(panorama=pano).values_list("kind", flat=True))
    assert {"depth", "depth_preview", "normals", "pointcloud"} <= kinds
    depth = np.load(DerivedAsset.objects.get(panorama=pano, kind="depth").file.open("rb"))
    assert depth.shape == (64, 128) and depth.dtype == np.float32
    # the prior: ground 1.6 m below -> straight down is ~1.6 m, far field is 50 m
    assert abs(float(depth[-1].mean()) - 1.6) < 0.2 and depth[:10].mean() > 20
    normals = np.load(DerivedAsset.objects.get(panorama=pano, kind="normals").file.open("rb"))
    assert normals.shape == (64, 128, 3)
    assert normals[-3:, :, 1].mean() > 0.95  # the ground faces up


def test_admin_action_intermediate_page_and_submit(users, project, panorama, client):
    client.force_login(users["admin"])
    url = "/admin/annotations/panorama/"
    page = client.post(url, {"action": "run_job_depth", "_selected_action": [panorama.pk]})
    assert page.status_code == 200 and b"Queue jobs" in page.content
    done = client.post(
        url,
        {"action": "run_job_depth", "_selected_action": [panorama.pk], "apply": "1",
         "estimator": "prior", "layout": "cube", "fusion": "poisson", "max_width": 1024},
        follow=True,
    )  # fmt: skip
    assert done.status_code == 200
    job = Job.objects.get(kind="depth")
    assert list(job.panoramas.all()) == [panorama] and job.params["max_width"] == 1024
    assert b"Show the jobs" in done.content
    project_page = client.post(
        "/admin/annotations/project/", {"action": "run_job_depth", "_selected_action": [project.pk]}
    )
    assert b"Queue jobs" in project_page.content
    assert client.get(f"/admin/inference/job/{job.pk}/change/").status_code == 200
