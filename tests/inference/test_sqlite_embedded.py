"""The embedded setup (SQLite file + kombu filesystem broker + a two-process worker) under
concurrent writers: uploads and annotation saves in one process while the worker's two
processes claim and run the thumbnail jobs. No write may fail with "database is locked" and
no job may stay queued."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COUNT = 10


def _jobs(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute("SELECT kind, status, error FROM inference_job").fetchall()


def test_two_process_worker_and_web_writes_share_sqlite(tmp_path):
    db = tmp_path / "label360.sqlite3"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DATABASE_"))},
        "DATABASE_URL": f"sqlite:///{db}",
        "LABEL360_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "LABEL360_QUEUE_PREFIX": "",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [python, "-m", "celery", "-A", "label360", "worker", "-Q", "interactive,batch",
         "-c", "2", "--pool=prefork", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-l", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        web = subprocess.run(
            [python, "-m", "tests.inference.embedded_web", str(COUNT)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert web.returncode == 0, web.stderr[-3000:]
        result = json.loads(web.stdout.strip().splitlines()[-1])
        assert result["errors"] == [], result
        assert result["uploads"] == COUNT and result["saves"] == 3 * COUNT
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            jobs = _jobs(db)
            if len(jobs) == COUNT and all(s in ("succeeded", "failed") for _k, s, _e in jobs):
                break
            time.sleep(0.5)
        text = (tmp_path / "worker.log").read_text()
        assert sorted(jobs) == [("thumbnail", "succeeded", "")] * COUNT, (jobs, text[-4000:])
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
