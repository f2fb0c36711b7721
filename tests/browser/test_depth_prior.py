"""The workspace names a geometric-prior depth map a prior (button, tooltip, cursor read-out)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.browser.test_workspace import floor_depth, open_workspace, scene  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def add_depth(pano, source: str) -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from inference.models import DerivedAsset

    buf = io.BytesIO()
    np.save(buf, floor_depth(512, 256)[0])
    data = buf.getvalue()
    name = default_storage.save(
        f"derived/{pano.project_id}/{pano.pk}/depth/t.npy", ContentFile(data)
    )
    DerivedAsset.objects.create(
        panorama=pano, kind="depth", file=name, size_bytes=len(data), params={"source": source}
    )


@pytest.mark.parametrize("source", ["prior", "model"])
def test_depth_button_names_the_prior(scene, signed_in, live_server, artifacts, source):  # noqa: F811
    pano = scene["panorama"]
    add_depth(pano, source)
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    page.wait_for_function("window.label360.state().depth === 'ready'")
    button = page.locator("#equirect-depth")
    title = button.get_attribute("title") or ""
    if source == "prior":
        assert button.inner_text().strip() == "Depth prior"
        assert "not a measurement" in title
        page.hover("#equirect-depth")
        page.screenshot(path=str(artifacts / "depth_prior_button.png"))
    else:
        assert button.inner_text().strip() == "Depth" and "prior" not in title
