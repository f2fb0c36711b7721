"""Leases and heartbeats of running jobs, in-process: a copy that lost the job writes
nothing, a delivery of a job running in a live worker is dropped, a job whose worker is
gone becomes re-runnable (retry, resubmit, cancel, the sweep)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

import inference.kinds as kinds
from inference import leases
from inference.models import DerivedAsset, Job, JobStatus
from inference.registry import JobContext, LeaseLost
from inference.runner import _claim_once, _finish, execute
from inference.services import DuplicateJob, retry_job, submit_job
from inference.sweep import sweep

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(hours=1)
real_sleep = time.sleep  # kinds.time is the time module: tests patch its sleep


def _diagnostic(users, project, **params):
    params = {"steps": 4, "step_seconds": 0, **params}
    return submit_job("diagnostic", users["admin"], project, params=params)


def _take_over(job_id: int, host: str = "other-host:4242") -> Job:
    """What another worker does after this one looked dead: claim the job with a new lease."""
    Job.objects.filter(pk=job_id).update(heartbeat_at=timezone.now() - LONG_AGO)
    job = _claim_once(job_id, "second-delivery")
    assert job is not None
    Job.objects.filter(pk=job_id).update(worker=host)  # the new holder lives elsewhere
    return job


def test_a_copy_that_lost_the_job_stops_at_its_next_progress_and_writes_nothing(
    users, project, monkeypatch
):
    job = _diagnostic(users, project, steps=6)
    calls = []
    second = {}

    def sleep(seconds):
        calls.append(seconds)
        if len(calls) == 3:  # this copy stalls; another worker takes the job over
            second["job"] = _take_over(job.pk)
            Job.objects.filter(pk=job.pk).update(progress=0.25, message="second copy")

    monkeypatch.setattr(kinds.time, "sleep", sleep)
    assert execute(job.pk) == ""  # the first copy ends without a final state
    row = Job.objects.get(pk=job.pk)
    assert len(calls) == 3  # it stopped at the progress call right after the takeover
    assert row.status == JobStatus.RUNNING and row.attempts == 2
    assert row.lease == second["job"].lease and row.finished_at is None
    assert (row.progress, row.message) == (0.25, "second copy")  # untouched by the stale copy
    assert row.result == {}
    # the second copy finishes; the first one's late final write is refused
    assert _finish(row, row.lease, JobStatus.SUCCEEDED, "done", result={"attempt": 2})
    assert not _finish(row, "stale-lease", JobStatus.FAILED, "failed", error="late", result={})
    row.refresh_from_db()
    assert row.status == JobStatus.SUCCEEDED and row.result == {"attempt": 2} and not row.error


def test_stale_copy_cannot_store_assets_or_files(users, project, panorama):
    job = submit_job("thumbnail", None, project, [panorama])
    claimed = _claim_once(job.pk, "")
    ctx = JobContext(claimed, lease=claimed.lease)
    ctx.save_asset(panorama, "thumbnail", "t.jpg", b"first")
    _take_over(job.pk)
    storage = panorama.image.storage
    before = set(storage.listdir(f"derived/{project.pk}/{panorama.pk}/thumbnail")[1])
    with pytest.raises(LeaseLost):
        ctx.save_asset(panorama, "thumbnail", "t.jpg", b"second")
    with pytest.raises(LeaseLost):
        ctx.save_file("out.bin", b"x")
    with pytest.raises(LeaseLost):
        ctx.progress(0.5, "late")
    assert DerivedAsset.objects.filter(panorama=panorama, kind="thumbnail").count() == 1
    after = set(storage.listdir(f"derived/{project.pk}/{panorama.pk}/thumbnail")[1])
    assert after == before  # the refused bytes were removed again


def test_a_delivery_of_a_job_running_in_a_live_worker_is_dropped(users, project):
    job = _diagnostic(users, project)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, attempts=1, lease="held", worker="other-host:7",
        heartbeat_at=timezone.now(), progress=0.5,
    )  # fmt: skip
    assert execute(job.pk) == ""  # e.g. the broker re-delivered it after its visibility timeout
    row = Job.objects.get(pk=job.pk)
    assert (row.status, row.attempts, row.lease, row.progress) == ("running", 1, "held", 0.5)
    # once its heartbeat is older than the bound, the next delivery takes it over
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - LONG_AGO)
    assert execute(job.pk) == JobStatus.SUCCEEDED
    row.refresh_from_db()
    assert row.attempts == 2 and row.result == {"steps": 4, "attempt": 2}


def test_a_dead_local_worker_process_is_taken_over_at_once(users, project):
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job = _diagnostic(users, project)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, attempts=1, lease="held", heartbeat_at=timezone.now(),
        worker=f"{leases.worker_identity().rpartition(':')[0]}:{dead.pid}",
    )  # fmt: skip
    assert execute(job.pk) == JobStatus.SUCCEEDED  # fresh heartbeat, but its process is gone
    assert Job.objects.get(pk=job.pk).attempts == 2


def test_heartbeat_thread_and_lost_lease(transactional_db, users, project, settings, monkeypatch):
    """The heartbeat is refreshed while a handler works without reporting progress; when the
    job is taken over, the thread notices and the handler stops at its next check."""
    settings.LABEL360_JOB_HEARTBEAT_SECONDS = 0.05
    job = _diagnostic(users, project, steps=3)
    seen = []

    def sleep(seconds):
        start = Job.objects.get(pk=job.pk).heartbeat_at
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # a long silent step
            real_sleep(0.02)
            now = Job.objects.get(pk=job.pk).heartbeat_at
            if now > start:
                seen.append(now)
                break
        if len(seen) == 2:
            _take_over(job.pk)
            real_sleep(0.3)  # the heartbeat thread finds the lease gone

    monkeypatch.setattr(kinds.time, "sleep", sleep)
    assert execute(job.pk) == ""
    assert len(seen) == 2  # two silent steps each saw the heartbeat move
    row = Job.objects.get(pk=job.pk)
    assert row.attempts == 2 and row.worker == "other-host:4242" and row.progress < 1
    assert not [t for t in threading.enumerate() if t.name.startswith(f"job-{job.pk}-")]


def test_abandoned_running_job_is_re_runnable(users, project, panorama, client_for, settings):
    settings.LABEL360_JOB_STALE_SECONDS = 60
    client = client_for(users["manager"])
    body = {"kind": "depth", "project": project.pk, "panoramas": [panorama.pk], "params": {}}
    first = client.post("/api/jobs/", body, format="json").json()
    fresh = timezone.now() - timedelta(seconds=10)
    Job.objects.filter(pk=first["id"]).update(
        status=JobStatus.RUNNING, attempts=1, lease="x", worker="gone-host:1", heartbeat_at=fresh
    )
    # a live worker: retry and resubmit are refused
    response = client.post(f"/api/jobs/{first['id']}/retry/")
    assert response.status_code == 409 and "heartbeat" in response.json()["detail"]
    assert client.post("/api/jobs/", body, format="json").status_code == 409
    # its heartbeat is older than the bound: retry re-queues the same row
    Job.objects.filter(pk=first["id"]).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    response = client.post(f"/api/jobs/{first['id']}/retry/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "queued" and response.json()["attempts"] == 1
    # ... and a resubmission replaces an abandoned one, which fails with the reason
    Job.objects.filter(pk=first["id"]).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now() - LONG_AGO, lease="y"
    )
    second = client.post("/api/jobs/", body, format="json")
    assert second.status_code == 201, second.content
    old = Job.objects.get(pk=first["id"])
    assert old.status == JobStatus.FAILED and old.error.startswith("its worker stopped")


def test_sweep_requeues_abandoned_jobs_and_cancels_cancelled_ones(
    users, project, monkeypatch, settings
):
    from inference import tasks

    settings.LABEL360_JOB_STALE_SECONDS = 60
    sent = []
    monkeypatch.setattr(tasks.run_job, "apply_async", lambda **kw: sent.append(kw))
    abandoned = _diagnostic(users, project, token="a")
    alive = _diagnostic(users, project, token="b")
    cancelling = _diagnostic(users, project, token="c")
    old = timezone.now() - timedelta(seconds=90)
    Job.objects.filter(pk__in=[abandoned.pk, alive.pk, cancelling.pk]).update(
        status=JobStatus.RUNNING, attempts=1, worker="gone-host:1", lease="l", heartbeat_at=old,
        published_at=timezone.now(),
    )  # fmt: skip
    Job.objects.filter(pk=alive.pk).update(heartbeat_at=timezone.now())
    Job.objects.filter(pk=cancelling.pk).update(cancel_requested=True)
    report = sweep()
    assert report.requeued == [abandoned.pk] and report.cancelled == [cancelling.pk]
    assert report.published == [abandoned.pk]
    row = Job.objects.get(pk=abandoned.pk)
    assert row.status == JobStatus.QUEUED and row.lease == "" and row.published_at
    assert row.message.startswith("re-queued: its worker stopped (no heartbeat for 9")
    assert [kw["args"] for kw in sent] == [[abandoned.pk]]
    assert sent[0]["task_id"] == row.celery_task_id
    assert Job.objects.get(pk=alive.pk).status == JobStatus.RUNNING
    assert Job.objects.get(pk=cancelling.pk).status == JobStatus.CANCELLED
    # the re-queued job runs (attempt 2); a second sweep finds nothing to do
    assert execute(abandoned.pk) == JobStatus.SUCCEEDED
    assert Job.objects.get(pk=abandoned.pk).attempts == 2
    assert not any(sweep().as_dict().values())


def test_retry_of_a_queued_job_and_duplicates_still_refused(users, project):
    job = _diagnostic(users, project)
    with pytest.raises(ValueError, match="queued job cannot be retried"):
        retry_job(job)
    with pytest.raises(DuplicateJob):
        _diagnostic(users, project)
