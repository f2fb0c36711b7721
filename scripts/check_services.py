"""Fail fast when the configured database or broker cannot be reached.

When DATABASE_URL / CELERY_BROKER_URL are set (CI), the suite must run against them:
never silently fall back to SQLite or the filesystem broker.
"""

import os
import sys
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label360.settings")
django.setup()

from django.db import connection  # noqa: E402

from label360.celery import app  # noqa: E402


def create_missing_postgres_database() -> None:
    """Create the configured PostgreSQL database when the server is up but it is missing."""
    import psycopg
    from psycopg import sql

    params = connection.get_connection_params()
    name = params.pop("dbname")
    with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"database: created {name}")


def main() -> int:
    failures = []
    if connection.vendor == "postgresql":
        try:
            create_missing_postgres_database()
        except Exception as exc:
            failures.append(f"database server unreachable: {exc}")
    try:
        connection.ensure_connection()
        print(f"database: {connection.vendor} ({connection.settings_dict.get('HOST') or 'local'})")
    except Exception as exc:  # report every failure, then exit non-zero
        failures.append(f"database unreachable: {exc}")
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=2, timeout=3)
            print(f"broker: {conn.as_uri()}")
    except Exception as exc:
        failures.append(f"broker unreachable: {exc}")
    if os.environ.get("CI") and "DATABASE_URL" in os.environ:
        if connection.vendor != "postgresql":
            failures.append("CI must test on PostgreSQL (DATABASE_URL is not postgres)")
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
