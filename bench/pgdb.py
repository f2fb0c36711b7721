"""A scratch PostgreSQL database for the benchmarks that need the real database.

``scratch_database`` creates an empty database on the server of ``DATABASE_URL``, points
``DATABASE_URL`` (and so Django, and any child process) at it, and drops it afterwards, so a
benchmark never touches the application's own data and leaves nothing behind.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/label360"


@contextmanager
def scratch_database(prefix: str, require_url: bool = False) -> Iterator[str]:
    """Yield the URL of a new database ``<prefix>_<pid>`` on ``DATABASE_URL``'s server.

    With ``require_url`` the benchmark refuses to run unless ``DATABASE_URL`` names a
    PostgreSQL server (instead of falling back to the local default)."""
    import dj_database_url
    import psycopg

    base = os.environ.get("DATABASE_URL", "" if require_url else DEFAULT_SERVER)
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL to a PostgreSQL server (the benchmark creates its own database)")
    cfg = dj_database_url.parse(base)
    name = f"{prefix}_{os.getpid()}"
    admin_dsn = f"host={cfg['HOST']} port={cfg['PORT'] or 5432} user={cfg['USER']} dbname=postgres"
    if cfg.get("PASSWORD"):
        admin_dsn += f" password={cfg['PASSWORD']}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label360.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        yield url
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
