"""Reliability against a REAL Redis broker and a REAL Celery worker process.

Skipped unless CELERY_BROKER_URL is redis:// and the database is PostgreSQL (the worker, a
separate process, must see the test database). Isolation from parallel tests: each test
uses its own queue-name prefix (LABEL360_QUEUE_PREFIX) and a Redis database chosen by the
pytest-xdist worker id, so a short visibility timeout here never re-delivers another
test's messages.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from inference.models import Job, JobStatus
from inference.services import submit_job

BROKER = os.environ.get("CELERY_BROKER_URL", "")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not BROKER.startswith("redis://"),
        reason="needs CELERY_BROKER_URL=redis://... (a real broker for a real worker)",
    ),
]


def _redis_db() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return 10 + int(worker[2:] or 0) % 6 if worker.startswith("gw") else 10


def _broker_url() -> str:
    base = BROKER.rsplit("/", 1)[0] if BROKER.count("/") >= 3 else BROKER.rstrip("/")
    return f"{base}/{_redis_db()}"


_BROKER_KEYS = ("broker_url", "broker_write_url", "broker_read_url", "broker_transport_options")


def _reset_pools(app) -> None:
    """Make the test process's Celery app reconnect with the current broker settings."""
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def live_worker(transactional_db, settings, tmp_path):
    """Start/stop a worker process bound to this test's DB, media, broker DB and queues."""
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs the PostgreSQL test database (not SQLite)")
    from label360.celery import app

    prefix = f"t{uuid.uuid4().hex[:8]}-"
    settings.LABEL360_QUEUE_PREFIX = prefix
    s = connection.settings_dict
    db_url = (
        f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST'] or '127.0.0.1'}:"
        f"{s['PORT'] or 5432}/{s['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": _broker_url(),
        "CELERY_RESULT_BACKEND": _broker_url(),
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "LABEL360_QUEUE_PREFIX": prefix,
        "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    # the test process publishes to the same broker database
    old = {k: app.conf.get(k) for k in _BROKER_KEYS}
    app.conf.update(
        broker_url=_broker_url(),
        broker_write_url=_broker_url(),
        broker_read_url=_broker_url(),
        broker_transport_options={"visibility_timeout": 3},
    )
    _reset_pools(app)
    procs: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        log = open(tmp_path / f"worker{len(procs)}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "label360", "worker",
             "-Q", f"{prefix}interactive,{prefix}batch", "-c", "1", "--pool=prefork",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
             "-n", f"{prefix}{len(procs)}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        procs.append(proc)
        return proc

    def kill(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    yield start, kill, tmp_path
    for proc in procs:
        kill(proc)
    app.conf.update(old)
    _reset_pools(app)


def _submit(user, project, **params):
    from django.db import transaction

    with transaction.atomic():  # on_commit publishes when this block commits
        return submit_job("diagnostic", user, project, params=params)


def _wait(job: Job, predicate, timeout: float, logs: Path) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if predicate(job):
            return job
        time.sleep(0.2)
    tails = "\n".join(p.read_text()[-3000:] for p in sorted(logs.glob("worker*.log")))
    raise AssertionError(f"timed out: job {job.status} {job.progress} {job.error}\n{tails}")


def test_sigkill_mid_job_then_restart_finishes(live_worker, users, project):
    start, kill, logs = live_worker
    first = start()
    job = _submit(users["admin"], project, steps=8, step_seconds=0.5)
    _wait(job, lambda j: j.status == "running" and j.progress > 0, 20, logs)
    kill(first)  # the whole process group: the message is neither acked nor finished
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.attempts == 1
    start()  # redis re-delivers the unacked message after the 3 s visibility timeout
    job = _wait(job, lambda j: j.status in ("succeeded", "failed"), 25, logs)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert job.result == {"steps": 8, "attempt": 2}


def test_failures_and_cancellation_through_the_worker(live_worker, users, project, panorama):
    start, _kill, logs = live_worker
    start()
    failing = _submit(users["admin"], project, steps=3, step_seconds=0, fail_at=1)
    slow = _submit(users["admin"], project, steps=40, step_seconds=0.2)
    failing = _wait(failing, lambda j: j.status == "failed", 20, logs)
    assert failing.error == "diagnostic failure requested at step 1"
    _wait(slow, lambda j: j.status == "running" and j.progress > 0, 10, logs)
    from inference.services import cancel_job

    cancel_job(slow)
    slow = _wait(slow, lambda j: j.status == "cancelled", 10, logs)
    assert slow.progress < 0.5
    from django.db import transaction

    with transaction.atomic():
        depth = submit_job("depth", users["manager"], project, [panorama],
                           {"estimator": "model", "weights": 12345})  # fmt: skip
    depth = _wait(depth, lambda j: j.status == "failed", 20, logs)
    assert depth.error == "model weights 12345 not found (deleted?)"
