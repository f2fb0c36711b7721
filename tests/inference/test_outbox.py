"""Broker outages: the Job row is the outbox. Submitting answers 503 with a clear message
(never 500), uploads still succeed, and the sweep publishes what was left once the broker is
back, after which the job really runs.

The outage is an unreachable broker URL; "back" is a real broker: a kombu filesystem broker
in a temporary folder, or with ``services`` the Redis of CELERY_BROKER_URL.
"""

from __future__ import annotations

import os
import uuid

import pytest
from django.core.management import call_command

from inference.models import DerivedAsset, Job, JobStatus
from inference.runner import execute
from inference.sweep import sweep
from tests.factories import make_panorama

from .brokers import DOWN, drain, filesystem_options, use_broker

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit publishes at once


def _body(project, panorama):
    return {"kind": "depth", "project": project.pk, "panoramas": [panorama.pk], "params": {}}


@pytest.fixture
def prefix(settings):
    settings.LABEL360_QUEUE_PREFIX = f"t{uuid.uuid4().hex[:8]}-"
    settings.LABEL360_JOB_PUBLISH_GRACE_SECONDS = 0
    return settings.LABEL360_QUEUE_PREFIX


def _outage_then_recovery(users, project, panorama, client_for, prefix, url, options):
    client = client_for(users["manager"])
    with use_broker(DOWN):
        response = client.post("/api/jobs/", _body(project, panorama), format="json")
        assert response.status_code == 503, response.content
        body = response.json()
        assert body["code"] == "broker_unavailable"
        assert "will start by itself" in body["detail"] and response["Retry-After"] == "30"
        job = Job.objects.get(pk=body["job"]["id"])
        assert job.status == JobStatus.QUEUED and job.published_at is None
        assert job.publish_error  # why, for operators (not shown in the API)
        # submitting again: the identical job exists (it will run), not a second row
        again = client.post("/api/jobs/", _body(project, panorama), format="json")
        assert again.status_code == 409 and again.json()["job"]["id"] == job.pk
        # an upload still succeeds; its thumbnail job waits in the outbox
        pano = make_panorama(project, seed=11)
        thumb = Job.objects.get(kind="thumbnail", panoramas=pano)
        assert thumb.status == JobStatus.QUEUED and thumb.published_at is None
        report = sweep()  # the broker is still down: nothing is lost, nothing is published
        assert report.published == [] and set(report.unpublished) >= {job.pk, thumb.pk}
    with use_broker(url, options):
        report = sweep()
        assert set(report.published) >= {job.pk, thumb.pk}
        messages = drain(url, f"{prefix}batch", options) + drain(
            url, f"{prefix}interactive", options
        )
    assert ("inference.tasks.run_job", [job.pk]) in messages
    assert ("inference.tasks.run_job", [thumb.pk]) in messages
    for row in (job, thumb):
        row.refresh_from_db()
        assert row.published_at is not None and row.publish_error == ""
    # the published message runs the thumbnail job: the upload gets its thumbnail after all
    (thumb_args,) = [args for _task, args in messages if args == [thumb.pk]]
    assert execute(*thumb_args) == JobStatus.SUCCEEDED
    assert DerivedAsset.objects.filter(panorama=pano, kind="thumbnail").exists()
    assert not any(sweep().as_dict().values())  # nothing left


def test_outage_then_filesystem_broker(users, project, panorama, client_for, prefix, tmp_path):
    options = filesystem_options(tmp_path / "broker")
    _outage_then_recovery(users, project, panorama, client_for, prefix, "filesystem://", options)


@pytest.mark.services
@pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"),
    reason="needs CELERY_BROKER_URL=redis://... (the real broker)",
)
def test_outage_then_real_redis(users, project, panorama, client_for, prefix):
    url = os.environ["CELERY_BROKER_URL"]
    _outage_then_recovery(users, project, panorama, client_for, prefix, url, None)


def test_retry_during_an_outage_answers_503(users, project, panorama, client_for, prefix):
    client = client_for(users["manager"])
    with use_broker(DOWN):
        job = Job.objects.create(kind="depth", project=project, status=JobStatus.FAILED)
        response = client.post(f"/api/jobs/{job.pk}/retry/")
    assert response.status_code == 503 and response.json()["job"]["status"] == "queued"


def test_sweep_publishes_again_a_lost_message(users, project, panorama, prefix, settings, tmp_path):
    """A queued job whose message is gone (the queue is empty) is published again."""
    from datetime import timedelta

    from django.utils import timezone

    options = filesystem_options(tmp_path / "broker")
    settings.LABEL360_JOB_REPUBLISH_SECONDS = 60
    with use_broker("filesystem://", options):
        job = Job.objects.create(
            kind="depth", project=project, status=JobStatus.QUEUED,
            published_at=timezone.now() - timedelta(seconds=61), queued_at=timezone.now(),
        )  # fmt: skip
        fresh = Job.objects.create(
            kind="depth", project=project, status=JobStatus.QUEUED,
            published_at=timezone.now(), queued_at=timezone.now(),
        )  # fmt: skip
        assert sweep().republished == [job.pk]
        assert drain("filesystem://", f"{prefix}batch", options) == [
            ("inference.tasks.run_job", [job.pk])
        ]
        # lost again (drained above): the command sends it again ...
        Job.objects.filter(pk=job.pk).update(published_at=timezone.now() - timedelta(seconds=61))
        call_command("sweep_jobs")
        assert Job.objects.get(pk=job.pk).published_at > timezone.now() - timedelta(seconds=5)
        # ... but while a message waits in its queue, an old job is not sent again
        Job.objects.filter(pk__in=[job.pk, fresh.pk]).update(
            published_at=timezone.now() - timedelta(seconds=61)
        )
        assert sweep().republished == []
        assert len(drain("filesystem://", f"{prefix}batch", options)) == 1


def test_sweep_command_reports(users, project, prefix, capsys):
    with use_broker(DOWN):
        job = Job.objects.create(kind="depth", project=project, status=JobStatus.QUEUED)
        call_command("sweep_jobs")
    out = capsys.readouterr()
    assert f"unpublished: 1  #{job.pk}" in out.out
    assert "broker is unreachable" in out.err
