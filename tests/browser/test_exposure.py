"""The workspace's exposure control (real Chromium): for a panorama stored as HDR radiance and
for one whose radiance the "Recover HDR" job rebuilt, an EV slider (−4…+4) and a tone-mapping
choice re-expose what the views show; the choice belongs to the user (browser storage keyed by
user name), survives a reload, is not another user's, and never touches the panorama."""

from __future__ import annotations

import numpy as np
import pytest

from tests.browser.test_derived_images import canvas_rgba, look, wait_frames
from tests.browser.test_workspace import open_workspace
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def radiance_panorama(width: int = 1024) -> np.ndarray:
    """A sunny sky over a textured ground: linear radiance spanning many stops."""
    from tests.reexpose.helpers import sky_panorama

    radiance, _ = sky_panorama(width)
    h = width // 2
    y, x = np.mgrid[0:h, 0:width]
    checks = (((x // 16) + (y // 16)) % 2 * 0.6 + 0.7).astype(np.float32)
    radiance[h // 2 :] *= checks[h // 2 :, :, None]
    return radiance


def set_exposure(page, tonemap: str | None = None, ev: float | None = None) -> None:
    """Choose in the bar like a user, then wait until the views show it."""
    if tonemap is not None:
        page.select_option("#exposure-tonemap", tonemap)
    if ev is not None:
        page.eval_on_selector(
            "#exposure-ev", f"(s) => {{ s.value = '{ev}'; s.dispatchEvent(new Event('input')); }}"
        )
    chosen = page.input_value("#exposure-tonemap")
    if chosen == "default":
        page.wait_for_function(
            "document.getElementById('exposure-bar').dataset.tonemap === 'default' && "
            "document.getElementById('exposure-bar').dataset.state === 'ready'"
        )
    else:
        value = float(page.input_value("#exposure-ev"))
        page.wait_for_function(
            f"document.getElementById('stage').dataset.exposure === '{chosen}:{value:g}' && "
            "document.getElementById('exposure-bar').dataset.state === 'ready'",
            timeout=30000,
        )
    wait_frames(page)


def ground_view(page) -> np.ndarray:
    look(page, 20, -35, 90)
    return canvas_rgba(page, "#gl-canvas")[:, :, :3]


def sign_in_again(page, live_server, user) -> None:
    """The same browser (same storage), another user."""
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/?next=/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{live_server.url}/")


def test_exposure_of_a_stored_hdr_panorama_is_per_user(users, project, signed_in, live_server,
                                                      artifacts):  # fmt: skip
    from annotations.models import Panorama
    from annotations.uploads import store_panorama
    from label360.exr import write_exr

    pano = store_panorama(project, "sunny.exr", write_exr(radiance_panorama()))
    assert pano.is_hdr
    pano.assignees.add(users["annotator"])
    before = Panorama.objects.values("revision", "updated_at").get(pk=pano.pk)
    page = signed_in(users["annotator"])
    open_workspace(page, live_server, pano)
    page.wait_for_selector("#exposure-bar")
    assert page.inner_text("#exposure-bar .exposure-label") == "HDR"
    slider = page.locator("#exposure-ev")
    assert (slider.get_attribute("min"), slider.get_attribute("max")) == ("-4", "4")
    options = page.eval_on_selector_all("#exposure-tonemap option", "os => os.map(o => o.value)")
    assert options == ["default", "clip", "reinhard", "filmic"]
    assert page.eval_on_selector("#exposure-ev", "s => s.disabled")  # default view: no EV
    original = ground_view(page)

    set_exposure(page, "clip", 0)
    zero = ground_view(page)
    set_exposure(page, ev=-2)
    dark = ground_view(page)
    set_exposure(page, ev=2)
    bright = ground_view(page)
    assert dark.mean() + 20 < zero.mean() < bright.mean() - 20, (dark.mean(), bright.mean())
    page.screenshot(path=str(artifacts / "exposure_clip_plus2.png"))
    set_exposure(page, ev=4)
    clipped = ground_view(page)
    set_exposure(page, "reinhard", 4)
    reinhard = ground_view(page)
    # Reinhard compresses what clipping saturates: far fewer pixels at full white
    assert (clipped >= 250).mean() > 0.3 and (reinhard >= 250).mean() < 0.05
    set_exposure(page, "filmic", -4)
    assert ground_view(page).mean() < zero.mean()
    set_exposure(page, "clip", -2)

    # the choice is this user's: it survives a reload ...
    stored = page.evaluate("localStorage.getItem('label360:exposure:annotator')")
    assert stored == '{"ev":-2,"tonemap":"clip"}'
    page.reload()
    open_workspace(page, live_server, pano)
    page.wait_for_function("document.getElementById('stage').dataset.exposure === 'clip:-2'")
    assert page.input_value("#exposure-tonemap") == "clip"
    assert page.input_value("#exposure-ev") == "-2"
    wait_frames(page)
    assert np.abs(ground_view(page) - dark).mean() < 3

    # ... back to the default view gives the server's display image again
    set_exposure(page, "default")
    assert np.abs(ground_view(page) - original).mean() < 3

    # another user in the same browser starts from the default view
    set_exposure(page, "clip", 3)
    sign_in_again(page, live_server, users["viewer"])
    open_workspace(page, live_server, pano)
    page.wait_for_selector("#exposure-bar")
    page.wait_for_function("document.getElementById('exposure-bar').dataset.state === 'ready'")
    assert page.input_value("#exposure-tonemap") == "default"
    assert page.evaluate("document.getElementById('stage').dataset.exposure") is None
    # and the panorama itself was never written
    assert Panorama.objects.values("revision", "updated_at").get(pk=pano.pk) == before


def test_exposure_of_recovered_radiance(users, project, signed_in, live_server, artifacts):
    import io

    from PIL import Image

    from annotations.uploads import store_panorama
    from inference.runner import execute
    from inference.services import submit_job
    from tests.factories import make_panorama
    from tests.reexpose.helpers import to_ldr

    ldr = to_ldr(radiance_panorama(512), 2.0)  # overexposed: two thirds of the sky clipped
    buffer = io.BytesIO()
    Image.fromarray(ldr).save(buffer, format="PNG")
    pano = store_panorama(project, "clipped.png", buffer.getvalue())
    pano.assignees.add(users["annotator"])
    plain = make_panorama(project, seed=4, width=512, name="plain.jpg")
    plain.assignees.add(users["annotator"])
    job = submit_job("reexpose", users["manager"], project, [pano], {"response": "srgb"})
    execute(job.pk)
    page = signed_in(users["annotator"])
    # a panorama without radiance has no exposure control
    open_workspace(page, live_server, plain)
    page.wait_for_timeout(500)
    assert page.locator("#exposure-bar").count() == 0
    open_workspace(page, live_server, pano)
    page.wait_for_selector("#exposure-bar")
    assert page.inner_text("#exposure-bar .exposure-label") == "Recovered HDR"
    look(page, 60, 30, 70)
    sky_upload = canvas_rgba(page, "#gl-canvas")[:, :, :3]
    set_exposure(page, "clip", 0)
    zero = ground_view(page)
    set_exposure(page, ev=-3)
    darker = ground_view(page)
    assert darker.mean() + 20 < zero.mean()
    # the sky that the upload clipped comes back with its gradient when darkened
    look(page, 60, 30, 70)
    sky = canvas_rgba(page, "#gl-canvas")[:, :, :3]
    assert (sky_upload >= 250).all(axis=2).mean() > 0.5
    assert (sky >= 250).all(axis=2).mean() < 0.05 and sky.mean(axis=2).std() > 2
    page.screenshot(path=str(artifacts / "exposure_recovered.png"))
