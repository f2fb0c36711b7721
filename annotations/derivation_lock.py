"""Locks around making a derived image, shared by web requests and background jobs.

A derived image (a panorama's preview, its tiles) is made once and then only served. When two
requests, or a request and the upload job, find it missing at the same time, one makes it and
the others wait for it; a reader that finds the file present first waits for any writer still
writing it (files are written in place, so "exists" alone can mean "half written").

On PostgreSQL these are session advisory locks, so they hold across processes and hosts (as
the storage may be shared); elsewhere (the SQLite development set-up) ``flock`` on one of a
fixed set of lock files under ``VAR_DIR/locks``, which holds across the processes of one host.
Locks must not be nested: striped file locks of two names may be the same file.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

#: number of lock files of the file-lock fallback (names are hashed onto them)
STRIPES = 64


def _key(name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name`` (stable across processes)."""
    digest = hashlib.blake2b(f"label360.derive:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def held(name: str, *, shared: bool = False) -> Iterator[None]:
    """Hold the lock of ``name``: exclusive to make the file, ``shared`` to read it."""
    if connection.vendor == "postgresql":
        with _advisory(name, shared):
            yield
    else:
        with _file_lock(name, shared):
            yield


@contextmanager
def _advisory(name: str, shared: bool) -> Iterator[None]:
    suffix = "_shared" if shared else ""
    key = _key(name)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_lock{suffix}(%s)", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_unlock{suffix}(%s)", [key])


@contextmanager
def _file_lock(name: str, shared: bool) -> Iterator[None]:
    folder = os.path.join(settings.VAR_DIR, "locks")
    os.makedirs(folder, exist_ok=True)
    stripe = _key(name) % STRIPES
    # one open file description per holder: flock then excludes other threads too
    fd = os.open(os.path.join(folder, f"derive-{stripe:02d}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
