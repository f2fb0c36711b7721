"""End-to-end tests of the annotation UI in headless Chromium (real mouse and keyboard events)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scene(users, project):
    from tests.factories import make_panorama

    pano = make_panorama(project, seed=3, width=1024, name="street_0001.jpg")
    pano.assignees.add(users["annotator"])
    return {"users": users, "project": project, "panorama": pano}


def open_workspace(page, live_server, pano):
    page.goto(f"{live_server.url}/panoramas/{pano.pk}/")
    page.wait_for_function("document.body.dataset.ready === '1' && document.body.dataset.firstFrame === '1'")


def test_smoke_screens(scene, signed_in, live_server, artifacts):
    page = signed_in(scene["users"]["annotator"])
    page.screenshot(path=str(artifacts / "projects.png"))
    page.click(f"[data-project-id='{scene['project'].pk}']")
    page.wait_for_selector(".pano-card")
    page.screenshot(path=str(artifacts / "navigator.png"))
    open_workspace(page, live_server, scene["panorama"])
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "workspace.png"))
