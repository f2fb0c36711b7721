"""GET /healthz: is the database reachable, is the Celery broker reachable.

Anyone may ask (load balancers do), so the answer names the failing part but gives the
details (the broker's address, the error text, which can name hosts and users) only in
DEBUG or to staff.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from kombu import Connection

from .celery import app as celery_app


def _database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, connection.vendor
    except Exception as exc:  # any failure means "not reachable"; report it, don't crash
        return False, str(exc)


def _broker() -> tuple[bool, str]:
    # A fresh connection from the configured URL: a pooled one could hide an outage.
    conf = celery_app.conf
    try:
        with Connection(
            conf.broker_url,
            connect_timeout=2,
            transport_options=conf.broker_transport_options or {},
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return True, conn.as_uri()
    except Exception as exc:
        return False, str(exc)


def healthz(request):
    db_ok, db_info = _database()
    broker_ok, broker_info = _broker()
    ok = db_ok and broker_ok
    user = getattr(request, "user", None)
    detailed = settings.DEBUG or bool(user is not None and user.is_staff)
    database: dict = {"ok": db_ok}
    broker: dict = {"ok": broker_ok}
    if detailed:
        database["detail"], broker["detail"] = db_info, broker_info
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "database": database, "broker": broker},
        status=200 if ok else 503,
    )
