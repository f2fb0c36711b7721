"""Production mode: the deployment checks pass, errors never show configuration to anonymous
callers, every page works under the Content-Security-Policy, the API docs need no CDN, and
scripts/serve.sh serves the app and its static files through gunicorn for real."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.urls import path

ROOT = Path(__file__).resolve().parents[1]

# the production-like environment of a deployment that follows docs/deploy.md
PRODUCTION = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "localhost,127.0.0.1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "SESSION_COOKIE", "CSRF_COOKIE", "LABEL360_"))
        # the browser tests set it for Playwright in this process; a deployment never does
        and key != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(PRODUCTION)
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        LABEL360_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_deploy_reports_nothing_in_production_mode(tmp_path):
    result = _manage(_production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout

    # the same check does see a setting left out (so the silence above means something)
    env = _production_env(tmp_path)
    del env["SECURE_HSTS_SECONDS"]
    missing = _manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert missing.returncode != 0 and "security.W004" in missing.stderr + missing.stdout


# --- errors and /healthz never show configuration ---------------------------------------


def _boom(request):
    raise RuntimeError("the view failed")


urlpatterns = [path("boom/", _boom)]

SECRET_MARKERS = ("redis://", "postgres://", "sqlite://", "filesystem://", "Traceback")


def _assert_no_configuration(body: bytes, settings) -> None:
    text = body.decode("utf-8", "replace")
    for marker in SECRET_MARKERS + (settings.SECRET_KEY,):
        assert marker not in text, marker
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        value = os.environ.get(name)
        assert not value or value not in text, name
        assert name not in text
    assert "DEBUG = True" not in text and "URLconf" not in text


def test_error_pages_are_plain_without_debug(db, settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    missing = client.get("/no/such/page/")
    assert missing.status_code == 404
    _assert_no_configuration(missing.content, settings)

    settings.ROOT_URLCONF = __name__
    failed = client.get("/boom/")
    assert failed.status_code == 500
    assert b"the view failed" not in failed.content
    _assert_no_configuration(failed.content, settings)


def test_healthz_gives_details_to_staff_only(db, settings, monkeypatch, users):
    from label360 import health

    settings.DEBUG = False
    monkeypatch.setattr(
        health,
        "_database",
        lambda: (False, 'connection to server at "db.internal" failed: user "label360"'),
    )
    monkeypatch.setattr(
        health, "_broker", lambda: (False, "redis://label:s3cret@broker.internal:6379//")
    )
    anonymous = Client().get("/healthz")
    assert anonymous.status_code == 503
    assert anonymous.json() == {
        "status": "unavailable",
        "database": {"ok": False},
        "broker": {"ok": False},
    }
    staff = Client()
    staff.force_login(users["admin"])
    detailed = staff.get("/healthz").json()
    assert "db.internal" in detailed["database"]["detail"]


# --- Content-Security-Policy ------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html: bytes) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html.decode())
    return parser.tags


def _nonce(response) -> str:
    policy = response["Content-Security-Policy"]
    match = re.search(r"script-src 'self' 'nonce-([A-Za-z0-9_-]+)'", policy)
    assert match, policy
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    return match.group(1)


def _assert_scripts_allowed(response) -> None:
    """Every script of the page is same-origin or carries the response's nonce."""
    nonce = _nonce(response)
    scripts = [attrs for tag, attrs in _tags(response.content) if tag == "script"]
    assert scripts
    for attrs in scripts:
        if attrs.get("src"):
            assert _same_origin(attrs["src"]), attrs
        elif attrs.get("type") != "application/json":  # data, never executed
            assert attrs.get("nonce") == nonce, attrs


def _same_origin(url: str | None) -> bool:
    parts = urlsplit(url or "")
    return not parts.scheme and not parts.netloc and (url or "").startswith("/")


def test_pages_run_under_the_content_security_policy(db, users, project):
    anonymous = Client()
    login = anonymous.get("/accounts/login/")
    assert login.status_code == 200
    _assert_scripts_allowed(login)
    assert b'nonce="' in login.content  # the theme switch runs before the first paint
    # a fresh nonce per response
    assert _nonce(anonymous.get("/accounts/login/")) != _nonce(login)

    admin_login = anonymous.get("/admin/login/")
    assert admin_login.status_code == 200 and "Content-Security-Policy" in admin_login

    client = Client()
    client.force_login(users["manager"])
    for url in ("/", f"/projects/{project.pk}/"):
        page = client.get(url)
        assert page.status_code == 200, url
        _assert_scripts_allowed(page)
    staff = Client()
    staff.force_login(users["admin"])
    admin_page = staff.get("/admin/")
    assert admin_page.status_code == 200
    _assert_scripts_allowed(admin_page)
    for tag, attrs in _tags(admin_page.content):
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)  # no handlers


def test_security_headers_on_every_response(db):
    response = Client().get("/accounts/login/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


# --- API docs without a CDN -------------------------------------------------------------


def test_api_docs_reference_only_same_origin_urls(db, users):
    client = Client()
    client.force_login(users["viewer"])
    page = client.get("/api/docs/")
    assert page.status_code == 200
    urls = [
        attrs.get(name)
        for _, attrs in _tags(page.content)
        for name in ("src", "href")
        if attrs.get(name)
    ]
    assert len(urls) >= 3, urls  # the bundle, the standalone preset, the start-up script
    assert all(_same_origin(url) for url in urls), urls
    assert not re.search(rb"https?://", page.content)
    _assert_scripts_allowed(page)
    for url in urls:
        fetched = client.get(url)
        assert fetched.status_code == 200, url
        body = b"".join(fetched.streaming_content) if fetched.streaming else fetched.content
        assert body, url
        if url.startswith("/api/docs/"):  # the start-up script: the schema from here
            assert b"/api/schema/" in body and not re.search(rb"https?://", body)


# --- gunicorn for real --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, url: str, headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", url, headers={"Host": "localhost", **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _database_url_for_subprocess(tmp_path: Path) -> str:
    """The test database when it is a server the subprocess can reach (already migrated),
    else a fresh SQLite file (serve.sh migrates it)."""
    config = connection.settings_dict
    if connection.vendor == "postgresql":
        user = config["USER"] or "postgres"
        auth = f"{user}:{config['PASSWORD']}" if config["PASSWORD"] else user
        return f"postgres://{auth}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{config['NAME']}"
    return f"sqlite:///{tmp_path / 'serve.sqlite3'}"


@pytest.mark.django_db
def test_serve_sh_runs_gunicorn_with_static_files_and_security_headers(tmp_path, settings):
    port = _free_port()
    env = _production_env(
        tmp_path,
        DATABASE_URL=_database_url_for_subprocess(tmp_path),
        CELERY_BROKER_URL="filesystem://",
        CACHE_URL="locmem://",
        LABEL360_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="2",
        PYTHON=sys.executable,
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto,https",
    )
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            ["bash", "scripts/serve.sh"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # gunicorn's master and workers form one process group
        )
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, log_path.read_text()[-4000:]
            assert time.monotonic() < deadline, log_path.read_text()[-4000:]
            try:
                status, headers, body = _get(port, "/healthz")
                break
            except OSError:
                time.sleep(0.5)

        # /healthz answers over plain HTTP (load balancers), without details
        assert status == 200, body
        assert json.loads(body) == {
            "status": "ok",
            "database": {"ok": True},
            "broker": {"ok": True},
        }
        assert "gunicorn" in headers.get("server", "")

        # everything else is redirected to HTTPS
        status, headers, _ = _get(port, "/accounts/login/")
        assert status == 301 and headers["location"] == "https://localhost/accounts/login/"

        https = {"X-Forwarded-Proto": "https"}
        status, headers, body = _get(port, "/accounts/login/", https)
        assert status == 200
        assert headers["strict-transport-security"] == (
            "max-age=31536000; includeSubDomains; preload"
        )
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-frame-options"] == "DENY"
        nonce = re.search(r"'nonce-([^']+)'", headers["content-security-policy"]).group(1)
        assert f'nonce="{nonce}"'.encode() in body
        assert "Secure" in headers["set-cookie"] and "csrftoken=" in headers["set-cookie"]

        # static files from collectstatic through WhiteNoise: hashed names cached for good,
        # compressed copies for clients that take them
        manifest = json.loads((tmp_path / "var" / "staticfiles" / "staticfiles.json").read_text())
        hashed = manifest["paths"]["admin/css/base.css"]
        status, headers, body = _get(port, f"/static/{hashed}", https)
        assert status == 200 and headers["content-type"].startswith("text/css")
        assert b"body" in body
        assert "immutable" in headers["cache-control"]
        status, headers, _ = _get(port, f"/static/{hashed}", {**https, "Accept-Encoding": "gzip"})
        assert status == 200 and headers.get("content-encoding") == "gzip"
        # the page links its stylesheet by the hashed name
        status, _, body = _get(port, "/accounts/login/", https)
        css = manifest["paths"].get("dist/label360.css")
        if css:
            assert f"/static/{css}".encode() in body

        # errors are plain pages: no settings, no traceback
        status, _, body = _get(port, "/no/such/page/", https)
        assert status == 404
        _assert_no_configuration(body, settings)
        for value in (env["SECRET_KEY"], env["DATABASE_URL"]):
            assert value.encode() not in body
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
