"""Pointing the test process's Celery app at a chosen broker, and reading what it holds.

``use_broker(url, options)`` switches the app (and the environment variable Celery prefers
over its configuration) to another broker and drops the pooled connections, so the next
publish really connects there. An outage is an unreachable URL (nothing listens on port 1).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from kombu import Connection

DOWN = "redis://127.0.0.1:1/0"

_KEYS = ("broker_url", "broker_write_url", "broker_read_url", "broker_transport_options")


def filesystem_options(folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(folder),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


def _reset_pools(app) -> None:
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def use_broker(url: str, options: dict | None = None):
    from label360.celery import app

    old = {k: app.conf.get(k) for k in _KEYS}
    old_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.update(
        broker_url=url,
        broker_write_url=url,
        broker_read_url=url,
        broker_transport_options={**(options or {}), "socket_connect_timeout": 2},
    )
    _reset_pools(app)
    try:
        yield app
    finally:
        app.conf.update(old)
        if old_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = old_env
        _reset_pools(app)


def drain(url: str, queue: str, options: dict | None = None) -> list[tuple[str, list]]:
    """Take every message from ``queue``: [(task name, args), ...]."""
    found = []
    with Connection(url, transport_options=options or {}) as conn:
        channel = conn.default_channel
        while True:
            try:
                message = channel.basic_get(queue, no_ack=True)
            except Exception:  # a queue that was never declared holds nothing
                message = None
            if message is None:
                return found
            args = message.decode()[0]
            found.append((message.headers["task"], list(args)))
