"""Derived images in the workspace (real Chromium): the Image selector puts a derived panorama
(here a 'cleaned' result whose pixels are the original's inverse) in the WebGL view and the
equirect viewer under unchanged labels, a panorama in another frame is not offered under the
labels, the choice is remembered, full-resolution tiles of a large result arrive, and the
before/after dialog shows the job's preview."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from tests.browser.test_workspace import (  # noqa: F401
    label_panorama,
    open_workspace,
    scene,
    set_camera,
)
from tests.factories import square_geometry

pytestmark = pytest.mark.django_db(transaction=True)


def encode(pixels: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def add_asset(pano, kind: str, filename: str, data: bytes, job=None, params=None):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from inference.models import DerivedAsset

    name = default_storage.save(
        f"derived/{pano.project_id}/{pano.pk}/{kind}/t-{filename}", ContentFile(data)
    )
    return DerivedAsset.objects.create(
        panorama=pano, kind=kind, file=name, size_bytes=len(data), job=job, params=params or {}
    )


def cleaned_results(pano):
    """A cameraman job's 'cleaned' (the original inverted), 'cleaned_mask' and 'cleaned_preview'
    assets, and a 'stabilised' frame (another frame: rotated)."""
    from annotations.imaging import load_pixels
    from inference.models import Job, JobStatus

    original = load_pixels(pano)[:, :, :3]
    inverted = (255 - original).astype(np.uint8)
    job = Job.objects.create(kind="cameraman", project=pano.project, status=JobStatus.SUCCEEDED)
    cleaned = add_asset(
        pano, "cleaned", "cleaned.png", encode(inverted, "PNG"), job, {"mask": "cap"}
    )
    # stored in the job's order: the mask before the preview
    mask = np.zeros(original.shape[:2], np.uint8)
    mask[-40:] = 255
    add_asset(pano, "cleaned_mask", "mask.png", encode(mask, "PNG"), job)
    half = np.asarray(Image.fromarray(original).resize((512, 256)))
    after = np.asarray(Image.fromarray(inverted).resize((512, 256)))
    preview = np.concatenate([half, np.full((4, 512, 3), 255, np.uint8), after])
    add_asset(pano, "cleaned_preview", "before_after.jpg", encode(preview, "JPEG"), job)
    stabilised = add_asset(
        pano,
        "stabilised",
        "stabilised.jpg",
        encode(np.roll(original, 40, axis=1), "JPEG"),
        params={"rotation": {"angle": 14.1, "matrix": np.eye(3).tolist()}},
    )
    return cleaned, stabilised


def canvas_rgba(page, selector: str) -> np.ndarray:
    """The canvas's own pixels (toDataURL: the WebGL drawing buffer is preserved), RGBA."""
    url = page.evaluate(f"document.querySelector('{selector}').toDataURL('image/png')")
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA")).astype(float)


def wait_frames(page, count: int = 2):
    """Until the renderer has drawn `count` more frames (a loaded machine draws slowly)."""
    for _ in range(count):
        drawn = page.evaluate("window.label360.state().framesDrawn")
        page.evaluate("window.label360.workspace.request()")
        page.wait_for_function(f"window.label360.state().framesDrawn > {drawn}")


def look(page, yaw, pitch, hfov):
    set_camera(page, yaw, pitch, hfov)
    wait_frames(page)


def wait_image(page, kind: str):
    page.wait_for_function(
        "window.label360.image && window.label360.image().current === "
        f"'{kind}' && !window.label360.image().loading"
    )
    wait_frames(page)


def test_switch_to_the_cleaned_image_and_see_before_after(scene, signed_in, live_server, artifacts):  # noqa: F811
    pano = scene["panorama"]
    cleaned, stabilised = cleaned_results(pano)
    label_panorama(pano, [("car", square_geometry(30, 10, 12))])
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    page.wait_for_function("window.label360.image && window.label360.image().options.length > 0")
    assert page.evaluate("window.label360.image().current") == "original"
    look(page, 30, 10, 100)
    gl_before = canvas_rgba(page, "#gl-canvas")[:, :, :3]
    labels_before = canvas_rgba(page, "#draw-canvas")
    eq_before = canvas_rgba(page, ".equirect-canvas")[:, :, :3]
    assert labels_before[:, :, 3].max() > 0, "the car is drawn"

    # a panorama in another frame is listed but cannot be put under the labels
    assert page.eval_on_selector(
        f"#image-select option[value='{stabilised.pk}']", "o => o.disabled"
    )
    page.select_option("#image-select", str(cleaned.pk))
    wait_image(page, "cleaned")
    gl_after = canvas_rgba(page, "#gl-canvas")[:, :, :3]
    # the view shows the cleaned image in the same geometry: every pixel is the inverse
    assert np.abs(gl_after - gl_before).mean() > 60
    assert np.abs(gl_after - (255 - gl_before)).mean() < 12
    # the labels are drawn as before, on top
    labels_after = canvas_rgba(page, "#draw-canvas")
    assert np.array_equal(labels_after, labels_before)
    # the equirect viewer shows it too (its instance outlines are the same in both)
    eq_after = canvas_rgba(page, ".equirect-canvas")[:, :, :3]
    assert np.abs(eq_after - (255 - eq_before)).mean() < np.abs(eq_after - eq_before).mean() / 3
    assert page.evaluate("window.label360.image().source") == f"asset:{cleaned.pk}"
    page.screenshot(path=str(artifacts / "derived_cleaned.png"))

    # before/after: the job's preview, then the stabilised frame next to the original
    page.click("#before-after")
    page.wait_for_selector("#before-after-dialog")
    page.wait_for_function(
        "[...document.querySelectorAll('#compare-view img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    img = page.locator("#compare-view img")
    assert img.count() == 1 and img.get_attribute("data-kind") == "cleaned_preview"
    assert page.evaluate("document.querySelector('#compare-view img').naturalWidth") == 512
    assert "job #" in page.inner_text("#compare-caption")
    page.screenshot(path=str(artifacts / "derived_before_after.png"))
    choices = page.eval_on_selector_all(
        "#compare-select option", "os => os.map(o => o.textContent)"
    )
    assert choices == [
        "Cameraman removed — before/after",
        "Cameraman removed — mask",
        "Stabilised: original vs result",
    ], choices
    page.select_option("#compare-select", str(stabilised.pk))
    page.wait_for_function(
        "document.querySelectorAll('#compare-view img').length === 2 && "
        "[...document.querySelectorAll('#compare-view img')].every(i => i.complete && i.naturalWidth === 1024)"
    )
    page.screenshot(path=str(artifacts / "derived_before_after_pair.png"))
    page.keyboard.press("Escape")
    page.wait_for_selector("#before-after-dialog", state="detached")

    # the choice is remembered for this project: a reload shows the cleaned image again
    page.reload()
    open_workspace(page, live_server, pano)
    wait_image(page, "cleaned")
    look(page, 30, 10, 100)
    gl_cleaned = canvas_rgba(page, "#gl-canvas")[:, :, :3]
    # and back to the original: the inverse of what the cleaned image showed
    page.select_option("#image-select", "")
    wait_image(page, "original")
    gl_back = canvas_rgba(page, "#gl-canvas")[:, :, :3]
    assert np.abs(gl_back - (255 - gl_cleaned)).mean() < 12
    assert page.evaluate("window.label360.image().source") == ""


def test_full_resolution_tiles_of_a_large_result(scene, signed_in, live_server, artifacts):  # noqa: F811
    from tests.factories import make_panorama

    pano = make_panorama(scene["project"], seed=9, width=4200, name="wide.jpg")
    pano.assignees.add(scene["users"]["annotator"])
    cleaned, _ = cleaned_results(pano)
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    page.wait_for_function("window.label360.image && window.label360.image().options.length > 0")
    # the original's own tiles are in before the switch (2 columns of 4096: 4096 + 104 px)
    page.wait_for_function("window.label360.state().tilesLoaded === 2", timeout=60000)
    # look at the narrow last tile column (lon > 171°) with a narrow field of view
    look(page, 175, 0, 20)
    before = canvas_rgba(page, "#gl-canvas")[:, :, :3]
    page.select_option("#image-select", str(cleaned.pk))
    page.wait_for_function(
        "window.label360.image().tilesLoaded === 2 && !window.label360.image().loading",
        timeout=60000,
    )
    wait_frames(page)
    after = canvas_rgba(page, "#gl-canvas")[:, :, :3]
    assert np.abs(after - (255 - before)).mean() < 12
    page.screenshot(path=str(artifacts / "derived_tiles.png"))
