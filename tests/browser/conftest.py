"""Fixtures of the browser tests: headless Chromium (Debian's /usr/bin/chromium, WebGL through
SwiftShader), a live server, and pages signed in as a given user."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = REPO / "var" / "browser-artifacts"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _missing(reason: str) -> None:
    # The test command installs Chromium and builds the UI: in CI a missing piece is a
    # failure, not a reason to skip the browser tests silently.
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        _missing("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    if not (REPO / "static" / "dist" / "label360.js").exists():
        _missing("the UI is not built: npm ci --prefix frontend && npm run --prefix frontend build")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def signed_in(chromium, live_server):
    """signed_in(user) -> a Page signed in through the login form (a new browser context each)."""
    from tests.factories import PASSWORD

    contexts = []

    def make(user, viewport=(1400, 860)):
        # Playwright's wait_for_function evaluates its predicate with eval(), which the app's
        # Content-Security-Policy forbids; test_csp.py runs the pages with the policy enforced
        context = chromium.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, bypass_csp=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{live_server.url}/accounts/login/?next=/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield make
    for context in contexts:
        # leaving a workspace reports its active time (a keepalive request): let those land
        # before the database is flushed
        for page in context.pages:
            page.goto("about:blank")
    if contexts:
        time.sleep(0.3)
    for context in contexts:
        context.close()
