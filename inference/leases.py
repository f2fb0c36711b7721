"""Who runs a job: the lease of the running attempt, its heartbeat, and staleness.

A claimed job carries a random ``lease`` token, the ``worker`` (host:pid) that holds it and a
``heartbeat_at`` time. Only the copy holding the lease may write progress, assets and the
final state; a copy whose lease was taken over (its worker looked dead) stops at its next
progress call and writes nothing. A heartbeat older than ``LABEL360_JOB_STALE_SECONDS``
means the worker is gone: the job may be claimed again, and the sweep re-queues it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from .models import Job, JobStatus

logger = logging.getLogger(__name__)

#: ids of the jobs this process is executing right now (a lease held by this very pid for a
#: job not in here belongs to an earlier attempt of this process that did not finish).
RUNNING_HERE: set[int] = set()


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def stale_after() -> timedelta:
    return timedelta(seconds=float(settings.LABEL360_JOB_STALE_SECONDS))


def heartbeat_age(job: Job, now: datetime | None = None) -> float | None:
    """Seconds since the job's last heartbeat (None: it never had one)."""
    if job.heartbeat_at is None:
        return None
    return ((now or timezone.now()) - job.heartbeat_at).total_seconds()


def is_stale(job: Job, now: datetime | None = None) -> bool:
    """A running job whose heartbeat is missing or older than the bound."""
    if job.status != JobStatus.RUNNING:
        return False
    age = heartbeat_age(job, now)
    return age is None or age > stale_after().total_seconds()


def owner_is_dead(job: Job) -> bool:
    """True when the lease holder ran on this host and its process is gone.

    Lets a re-delivery after a killed pool child take over at once instead of waiting for
    the heartbeat to go stale. Other hosts' processes cannot be checked: False.
    """
    host, _, pid_text = job.worker.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return job.pk not in RUNNING_HERE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    return False


def may_take_over(job: Job, now: datetime | None = None) -> bool:
    """A running job whose holder is gone (stale heartbeat or dead local process)."""
    return job.status == JobStatus.RUNNING and (is_stale(job, now) or owner_is_dead(job))


class Heartbeat:
    """A daemon thread that refreshes ``heartbeat_at`` every ``interval`` seconds while the
    lease holds; when the lease is gone it sets ``lost`` (the handler then stops at its next
    progress or cancellation check).

    It writes through its own database connection, so it is only started when the claim is
    committed (the runner is not inside an outer transaction).
    """

    def __init__(self, job_id: int, lease: str, interval: float, lost: threading.Event):
        self.job_id = job_id
        self.lease = lease
        self.interval = interval
        self.lost = lost
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"job-{job_id}-heartbeat", daemon=True
        )

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def beat(self) -> bool:
        """One heartbeat; False when this copy no longer holds the lease."""
        updated = Job.objects.filter(
            pk=self.job_id, lease=self.lease, status=JobStatus.RUNNING
        ).update(heartbeat_at=timezone.now())
        return bool(updated)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    if not self.beat():
                        logger.warning(
                            "job %s: lease %s was taken over or the job ended; this copy stops",
                            self.job_id,
                            self.lease,
                        )
                        self.lost.set()
                        return
                except DatabaseError as exc:  # a missed beat is not fatal; the next may pass
                    logger.warning("job %s: heartbeat failed: %s", self.job_id, exc)
        finally:
            connections.close_all()  # this thread's connections only


def start_heartbeat(job_id: int, lease: str, lost: threading.Event) -> Heartbeat | None:
    """Start the heartbeat thread, unless disabled or the claim is not committed yet."""
    interval = float(settings.LABEL360_JOB_HEARTBEAT_SECONDS)
    if interval <= 0 or connections["default"].in_atomic_block:
        return None
    return Heartbeat(job_id, lease, interval, lost).start()
