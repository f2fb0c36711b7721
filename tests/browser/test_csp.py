"""The UI under its Content-Security-Policy in a real browser: signing in, the project pages,
the workspace (WebGL, tiles, canvases), the admin and the API docs run without one refused
script, style, image or connection.

These pages run with the policy enforced (the other browser tests bypass it, because
Playwright's wait_for_function evaluates its predicate with eval()), so waiting here polls
with page.evaluate, which the browser runs outside the page's policy.
"""

from __future__ import annotations

import time

import pytest

from tests.browser.test_workspace import scene  # noqa: F401
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

# Init scripts are injected by the browser, not by the page: the policy does not stop this.
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _wait(page, expression: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.1)


class _Browser:
    """A page with the policy enforced, signed in through the login form."""

    def __init__(self, chromium, live_server, user) -> None:
        self.context = chromium.new_context(viewport={"width": 1400, "height": 860})
        self.context.add_init_script(LISTEN)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30000)
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))
        self.base = live_server.url
        self.page.goto(f"{self.base}/accounts/login/?next=/")
        self.page.fill("#id_username", user.username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("#login-submit")
        self.page.wait_for_url(f"{self.base}/")

    def open(self, url: str):
        response = self.page.goto(f"{self.base}{url}")
        assert response.status == 200, url
        assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
        return response

    def violations(self) -> list[str]:
        events = self.page.evaluate("window.__cspViolations || []")
        return events + [text for text in self.console if "Content Security Policy" in text]


def test_pages_work_under_the_policy(scene, live_server, chromium):  # noqa: F811
    pano = scene["panorama"]
    project = pano.project
    manager = _Browser(chromium, live_server, scene["users"]["manager"])
    try:
        for url in (
            "/",
            f"/projects/{project.pk}/",
            f"/projects/{project.pk}/export/",
            f"/projects/{project.pk}/dashboard/",
            f"/projects/{project.pk}/settings/",
        ):
            manager.open(url)
            # the inline theme script ran (it carries the nonce)
            assert manager.page.evaluate("document.documentElement.dataset.theme") in {
                "dark",
                "light",
            }
            # the bundle ran: the shell's "Loading…" is replaced, and not by the error page
            _wait(manager.page, "!document.querySelector('#app').textContent.startsWith('Loading')")
            manager.page.wait_for_load_state("networkidle")
            assert manager.page.locator("#app .fatal").count() == 0, url
            assert manager.violations() == [], url

        manager.open(f"/panoramas/{pano.pk}/")
        _wait(
            manager.page,
            "document.body.dataset.ready === '1' && document.body.dataset.firstFrame === '1'",
        )
        manager.page.wait_for_load_state("networkidle")
        assert manager.violations() == []
    finally:
        manager.context.close()

    admin = _Browser(chromium, live_server, scene["users"]["admin"])
    try:
        for url in ("/admin/", "/admin/annotations/panorama/"):
            admin.open(url)
            admin.page.wait_for_load_state("networkidle")
            assert admin.violations() == [], url
        # Swagger UI starts from its same-origin files and loads the schema
        admin.open("/api/docs/")
        admin.page.wait_for_selector(".swagger-ui .opblock")
        assert admin.violations() == []
    finally:
        admin.context.close()
