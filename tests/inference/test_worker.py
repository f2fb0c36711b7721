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
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:  # a plain run uses the Redis database it was given
        tail = BROKER.rsplit("/", 1)[-1]
        return int(tail) if BROKER.count("/") >= 3 and tail.isdigit() else 10
    return 10 + int(worker[2:] or 0) % 6 if worker.startswith("gw") else 10


def _broker_url() -> str:
    base = BROKER.rsplit("/", 1)[0] if BROKER.count("/") >= 3 else BROKER.rstrip("/")
    return f"{base}/{_redis_db()}"


_BROKER_KEYS = ("broker_url", "broker_write_url", "broker_read_url", "broker_transport_options")


def _reset_pools(app) -> None:
    """Make the test process's Celery app reconnect with the current broker settings."""
    app._pool = None
    app.amqp._producer_pool = None


#: heartbeats and staleness of the workers started here (seconds)
HEARTBEAT, STALE = 0.3, 2.0


@pytest.fixture
def live_worker(transactional_db, settings, tmp_path):
    """Start/stop a worker process bound to this test's DB, media, broker DB and queues.

    ``start(visibility=3, concurrency=1, beat=False)``: the broker re-delivers unacked
    messages after ``visibility`` seconds; ``beat`` embeds Celery beat (the job sweep every
    second). Jobs send a heartbeat every 0.3 s and count as abandoned after 2 s.
    """
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs the PostgreSQL test database (not SQLite)")
    from label360.celery import app

    prefix = f"t{uuid.uuid4().hex[:8]}-"
    settings.LABEL360_QUEUE_PREFIX = prefix
    settings.LABEL360_JOB_STALE_SECONDS = STALE
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
        "LABEL360_QUEUE_PREFIX": prefix,
        "LABEL360_JOB_HEARTBEAT_SECONDS": str(HEARTBEAT),
        "LABEL360_JOB_STALE_SECONDS": str(STALE),
        "LABEL360_JOB_SWEEP_SECONDS": "1",
        "LABEL360_JOB_PUBLISH_GRACE": "0",
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

    def start(visibility: int = 3, concurrency: int = 1, beat: bool = False) -> subprocess.Popen:
        log = open(tmp_path / f"worker{len(procs)}.log", "w")  # noqa: SIM115
        extra = ["-B", "-s", str(tmp_path / f"beat{len(procs)}")] if beat else []
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "label360", "worker",
             "-Q", f"{prefix}interactive,{prefix}batch", "-c", str(concurrency),
             "--pool=prefork", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "INFO", "-n", f"{prefix}{len(procs)}@%h", *extra],
            cwd=ROOT, env={**env, "CELERY_VISIBILITY_TIMEOUT": str(visibility)},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
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
    # redis re-delivers an unacked message older than the 3 s visibility timeout when a worker
    # scans for them, at its first poll: a worker that starts sooner would find it too young
    time.sleep(3.5)
    start()
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

    from inference.models import ModelWeights
    from inference.registry import ParamsError

    # weights that do not exist are refused at submission; weights deleted between the
    # submission and the run fail the job in the worker with the reason
    with pytest.raises(ParamsError, match="do not exist"):
        submit_job("depth", users["manager"], project, [panorama],
                   {"estimator": "model", "weights": 12345})  # fmt: skip
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    # stored without the upload checks: only its existence matters here
    name = default_storage.save("weights/gone.pt", ContentFile(b"deleted before it runs"))
    (weights,) = ModelWeights.objects.bulk_create(
        [ModelWeights(name="gone", task="depth", file=name)]
    )
    with transaction.atomic():
        depth = submit_job("depth", users["manager"], project, [panorama],
                           {"estimator": "model", "weights": weights.pk})  # fmt: skip
        gone = weights.pk
        weights.delete()
    depth = _wait(depth, lambda j: j.status == "failed", 20, logs)
    assert depth.error == f"invalid params: model weights #{gone} do not exist"


def _logs(logs: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(logs.glob("worker*.log")))


def test_killed_worker_job_is_requeued_by_the_sweep_at_worker_start(live_worker, users, project):
    """No re-delivery by the broker (visibility timeout of an hour): the job is saved only by
    its stale heartbeat, which the next worker's start-up sweep finds."""
    start, kill, logs = live_worker
    first = start(visibility=3600)
    job = _submit(users["admin"], project, steps=8, step_seconds=0.4)
    _wait(job, lambda j: j.status == "running" and j.progress > 0, 30, logs)
    kill(first)
    time.sleep(STALE + 0.5)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING  # nobody has noticed yet
    start(visibility=3600)
    job = _wait(job, lambda j: j.status in ("succeeded", "failed"), 40, logs)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2, _logs(logs)
    assert "job sweep at worker start" in _logs(logs)


def test_killed_worker_job_is_requeued_by_the_periodic_sweep(live_worker, users, project):
    """The second worker starts while the job still looks alive; Celery beat's periodic
    sweep re-queues it once the heartbeat is older than the bound."""
    start, kill, logs = live_worker
    first = start(visibility=3600)
    job = _submit(users["admin"], project, steps=8, step_seconds=0.4)
    _wait(job, lambda j: j.status == "running" and j.progress > 0, 30, logs)
    kill(first)
    start(visibility=3600, beat=True)
    job = _wait(job, lambda j: j.status in ("succeeded", "failed"), 40, logs)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2, _logs(logs)
    assert "re-queued: its worker stopped" in _logs(logs) or job.message == "done"


def test_job_longer_than_the_visibility_timeout_runs_once(live_worker, users, project):
    """A job outlives the broker's visibility timeout; a second worker that starts then gets
    the unacknowledged message re-delivered, sees a live heartbeat and drops it instead of
    starting a second copy."""
    start, _kill, logs = live_worker
    start(visibility=2)
    job = _submit(users["admin"], project, steps=50, step_seconds=0.5)
    _wait(job, lambda j: j.status == "running" and j.progress > 0, 30, logs)
    # started past the visibility timeout, it restores the unacked message at its first poll
    # and receives it while the job still runs
    time.sleep(2.5)
    start(visibility=2)
    deadline = time.monotonic() + 30
    while "this delivery is dropped" not in _logs(logs) and time.monotonic() < deadline:
        time.sleep(0.2)
    job = _wait(job, lambda j: j.status in ("succeeded", "failed"), 60, logs)
    text = _logs(logs)
    assert "this delivery is dropped" in text, text[-4000:]
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 1
    assert job.result == {"steps": 50, "attempt": 1}


def test_a_frozen_copy_that_lost_its_lease_writes_nothing(live_worker, users, project):
    """Freeze the worker running a job (SIGSTOP) past the staleness bound; a second worker
    takes the job over and finishes it; the first copy, thawed, stops at its next progress
    call and never overwrites the result."""
    start, kill, logs = live_worker
    first = start(visibility=3600)
    job = _submit(users["admin"], project, steps=10, step_seconds=0.3)
    job = _wait(job, lambda j: j.status == "running" and j.progress > 0.15, 30, logs)
    first_lease = job.lease
    os.killpg(first.pid, signal.SIGSTOP)
    try:
        time.sleep(STALE + 0.5)
        start(visibility=3600)  # its start-up sweep re-queues the job
        job = _wait(job, lambda j: j.status == "succeeded", 40, logs)
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    finished = (job.finished_at, job.result, job.attempts, job.lease)
    assert job.attempts == 2 and job.lease != first_lease
    deadline = time.monotonic() + 15
    while "wrote nothing more" not in _logs(logs) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "wrote nothing more" in _logs(logs)  # the thawed copy gave up
    job.refresh_from_db()
    assert (job.finished_at, job.result, job.attempts, job.lease) == finished
    assert job.result == {"steps": 10, "attempt": 2}
    kill(first)
