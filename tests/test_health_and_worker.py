"""/healthz, the OpenAPI schema, and a real Celery worker running a task end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_healthz_reports_database_and_broker(client, db):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["database"]["ok"] and body["broker"]["ok"]


def test_healthz_reports_an_unreachable_broker(client, db, monkeypatch):
    from label360.celery import app

    # Celery prefers the CELERY_BROKER_URL variable over its configuration: set both (the
    # configuration first: reading it after the variable is set would save the wrong value)
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False and response.json()["database"]["ok"]


def test_openapi_schema_is_served(client, users):
    client.force_login(users["viewer"])
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/panoramas/{id}/instances/" in response.content


def test_every_endpoint_requires_authentication(client, db):
    assert client.get("/api/schema/").status_code in {401, 403}
    assert client.get("/api/panoramas/").status_code in {401, 403}


def test_real_worker_runs_a_task_end_to_end(tmp_path):
    """Start a worker process on the configured broker and run a task through it."""
    from label360.celery import app, ping

    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "label360",
            "worker",
            "-Q",
            queue,
            "-c",
            "1",
            "--pool=solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        result = ping.apply_async(args=["hello from the test"], queue=queue)
        assert result.get(timeout=60) == "hello from the test"
    finally:
        worker.terminate()
        try:
            output = worker.communicate(timeout=20)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            worker.kill()
            output = ""
    assert worker.returncode is not None, output
    assert app.conf.broker_url.split(":")[0] in {"redis", "amqp", "filesystem", "pyamqp"}


@pytest.mark.skipif(not os.environ.get("CI"), reason="CI must run on the real services")
def test_ci_uses_postgresql_and_a_real_broker(db):
    from django.db import connection

    from label360.celery import app

    assert connection.vendor == "postgresql"
    assert app.conf.broker_url.startswith(("redis://", "amqp://", "pyamqp://"))
