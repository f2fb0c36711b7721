"""End-to-end tests of the annotation UI in headless Chromium.

Drawing and editing use real mouse and keyboard events; the `window.label360` hook only sets
the camera and reads state so the expected spherical vertices can be computed exactly from the
clicked pixels with the Python core (label360.sphere.View.pixel_to_lonlat).
"""

from __future__ import annotations

import io
import os
import time

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from annotations.models import Instance, LabelClass
from label360.sphere.views import View

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOL_DEG = 1e-6


@pytest.fixture
def scene(users, project):
    from tests.factories import make_panorama

    pano = make_panorama(project, seed=3, width=1024, name="street_0001.jpg")
    pano.assignees.add(users["annotator"])
    return {"users": users, "project": project, "panorama": pano}


# ----------------------------------------------------------------------------- helpers
def open_workspace(page, live_server, pano):
    page.goto(f"{live_server.url}/panoramas/{pano.pk}/")
    page.wait_for_function(
        "document.body.dataset.ready === '1' && document.body.dataset.firstFrame === '1'"
    )


def canvas_box(page) -> dict:
    return page.evaluate(
        "(() => { const r = document.getElementById('draw-canvas').getBoundingClientRect();"
        " return {left: r.left, top: r.top, width: r.width, height: r.height}; })()"
    )


def set_camera(page, yaw, pitch, hfov):
    page.evaluate(f"window.label360.setCamera({{yaw: {yaw}, pitch: {pitch}, hfov: {hfov}}})")
    page.wait_for_timeout(50)


def click(page, box, x, y):
    page.mouse.click(box["left"] + x, box["top"] + y)


def eventually(condition, seconds: float = 10.0) -> bool:
    """Whether ``condition()`` comes true within ``seconds`` (polled): for what a test can
    only see in pixels, which a loaded machine may draw a few frames late."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def wait_saved(page):
    page.wait_for_function("window.label360.state().save === 'saved'", timeout=15000)


def wait_state(page, state):
    page.wait_for_function(f"window.label360.state().save === '{state}'", timeout=15000)


def lon_close(a: float, b: float) -> bool:
    return abs((a - b + 540.0) % 360.0 - 180.0) < TOL_DEG


def assert_ring(actual, expected):
    assert len(actual) == len(expected)
    for (lon, lat), (elon, elat) in zip(actual, expected, strict=True):
        assert lon_close(lon, elon), (lon, elon)
        assert abs(lat - elat) < TOL_DEG, (lat, elat)


def expected_ring(view: View, css_points):
    """Clicked CSS offsets -> [lon, lat] (pixel centres are at integer pixel coordinates)."""
    xs = np.array([x - 0.5 for x, _ in css_points])
    ys = np.array([y - 0.5 for _, y in css_points])
    lon, lat = view.pixel_to_lonlat(xs, ys)
    return [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]


def server_instances(pano):
    return list(Instance.objects.filter(panorama=pano).order_by("order"))


# ----------------------------------------------------------------------------- tests
def test_sign_in_navigate_and_webgl_renders(scene, signed_in, live_server, artifacts, chromium):
    # a wrong password is refused on the sign-in page
    context = chromium.new_context()
    bad = context.new_page()
    bad.goto(f"{live_server.url}/")
    assert "/accounts/login/" in bad.url
    bad.fill("#id_username", "annotator")
    bad.fill("#id_password", "wrong")
    bad.click("#login-submit")
    assert bad.is_visible("#login-error")
    bad.screenshot(path=str(artifacts / "login.png"))
    context.close()

    page = signed_in(scene["users"]["annotator"])
    page.wait_for_selector(f"[data-project-id='{scene['project'].pk}']")
    page.screenshot(path=str(artifacts / "projects.png"))
    page.click(f"[data-project-id='{scene['project'].pk}']")
    card = page.wait_for_selector(f"[data-panorama-id='{scene['panorama'].pk}']")
    assert "annotator" in card.inner_text()
    assert card.query_selector("[data-status='new']")
    page.select_option("#filter-status", "approved")
    page.wait_for_selector("#pano-grid .empty")
    page.select_option("#filter-status", "")
    page.wait_for_selector(".pano-card img")
    page.screenshot(path=str(artifacts / "navigator.png"))
    page.click(f"[data-panorama-id='{scene['panorama'].pk}']")
    page.wait_for_function(
        "document.body.dataset.ready === '1' && document.body.dataset.firstFrame === '1'"
    )
    set_camera(page, 30, 10, 100)

    def gl_pixels():
        shot = page.locator("#gl-canvas").screenshot()
        return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(float)

    # the synthetic panorama is a colour gradient: a rendered view is neither blank nor flat
    assert eventually(lambda: gl_pixels().std() > 10), "the WebGL canvas is blank"
    pixels = gl_pixels()
    assert pixels.mean() > 20
    page.screenshot(path=str(artifacts / "workspace.png"))


def test_draw_across_the_seam_in_nfov(scene, signed_in, live_server, artifacts):
    pano = scene["panorama"]
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    set_camera(page, 180, 0, 90)
    box = canvas_box(page)
    w, h = int(box["width"]), int(box["height"])
    cx, cy = w / 2, h / 2
    pts = [(cx - 120, cy - 70), (cx + 110, cy - 80), (cx + 130, cy + 60), (cx - 90, cy + 75)]
    page.keyboard.press("d")
    for x, y in pts:
        click(page, box, x, y)
    assert len(page.evaluate("window.label360.state().draft")) == 4
    page.keyboard.press("Enter")
    wait_saved(page)
    page.screenshot(path=str(artifacts / "nfov_seam.png"))
    saved = server_instances(pano)
    assert len(saved) == 1
    view = View(180.0, 0.0, 0.0, 90.0, w, h)
    ring = saved[0].geometry[0][0]
    assert_ring(ring, expected_ring(view, pts))
    lons = [lon for lon, _ in ring]
    assert min(lons) < -150 and max(lons) > 150, "the polygon straddles the ±180° seam"
    assert saved[0].label_class.name == "car"


def test_draw_in_the_expanded_margin_of_a_cube_face(scene, signed_in, live_server, artifacts):
    pano = scene["panorama"]
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    page.click("#mode-cubemap")
    dice = page.wait_for_selector(".cubemap-canvas")
    r = dice.bounding_box()
    face = r["width"] / 4
    page.mouse.click(r["x"] + 2.5 * face, r["y"] + 1.5 * face)  # face R
    page.wait_for_function("window.label360.view().yaw === 90")
    page.click("text=building")  # class for the new polygon
    box = canvas_box(page)
    s = int(box["width"])
    assert int(box["height"]) == s
    fov = scene["project"].default_fov
    view = View(90.0, 0.0, 0.0, fov, s, s)
    margin = s / 2 - view.focal  # width of the band outside the 90° face square
    assert margin > 10
    pts = [
        (margin * 0.4, s / 2 - 50),
        (s / 2, s / 2 - 20),
        (s / 2 + 30, s / 2 + 40),
        (margin * 0.5, s / 2 + 60),
    ]
    page.focus("#draw-canvas")
    page.keyboard.press("d")
    for x, y in pts:
        click(page, box, x, y)
    click(page, box, *pts[0])  # close on the first vertex
    wait_saved(page)
    page.screenshot(path=str(artifacts / "cubemap_margin.png"))
    saved = server_instances(pano)
    assert len(saved) == 1
    assert saved[0].label_class.name == "building"
    ring = saved[0].geometry[0][0]
    assert_ring(ring, expected_ring(view, pts))
    # the vertices in the margin lie on the neighbouring face F (lon < 45): one instance across
    assert min(lon for lon, _ in ring) < 45 < max(lon for lon, _ in ring)


def test_edit_undo_redo_class_delete_and_reload(scene, signed_in, live_server, artifacts):
    from tests.factories import square_geometry

    pano = scene["panorama"]
    car = LabelClass.objects.get(project=scene["project"], name="car")
    Instance.objects.create(panorama=pano, label_class=car, geometry=square_geometry(0, 0, 10))
    pano.bump_revision()
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    set_camera(page, 0, 0, 90)
    box = canvas_box(page)
    w, h = int(box["width"]), int(box["height"])
    view = View(0.0, 0.0, 0.0, 90.0, w, h)
    page.focus("#draw-canvas")
    page.keyboard.press("e")
    click(page, box, w / 2, h / 2)  # select
    page.wait_for_function("window.label360.state().selected !== null")

    # drag vertex 0 ([-10, -10])
    vx, vy = view.lonlat_to_pixel(-10.0, -10.0)
    # whole CSS pixels: Chromium keeps pointer coordinates in float32
    start = (round(float(vx) + 0.5), round(float(vy) + 0.5))
    end = (start[0] - 40, start[1] + 25)
    page.mouse.move(box["left"] + start[0], box["top"] + start[1])
    page.mouse.down()
    for k in range(1, 6):
        page.mouse.move(
            box["left"] + start[0] + (end[0] - start[0]) * k / 5,
            box["top"] + start[1] + (end[1] - start[1]) * k / 5,
        )
    page.mouse.up()
    wait_saved(page)
    moved = expected_ring(view, [end])[0]
    ring = server_instances(pano)[0].geometry[0][0]
    assert_ring([ring[0]], [moved])

    page.keyboard.press("Control+z")
    wait_saved(page)
    assert_ring([server_instances(pano)[0].geometry[0][0][0]], [[-10.0, -10.0]])
    page.keyboard.press("Control+Shift+z")
    wait_saved(page)
    assert_ring([server_instances(pano)[0].geometry[0][0][0]], [moved])

    # insert a vertex on the edge [10,-10] -> [10,10] (a straight line in the view), then delete it
    ax, ay = view.lonlat_to_pixel(10.0, -10.0)
    bx, by = view.lonlat_to_pixel(10.0, 10.0)
    mx, my = round((float(ax) + float(bx)) / 2 + 0.5), round((float(ay) + float(by)) / 2 + 0.5)
    click(page, box, mx, my)
    wait_saved(page)
    assert len(server_instances(pano)[0].geometry[0][0]) == 5
    page.keyboard.press("Delete")
    wait_saved(page)
    assert len(server_instances(pano)[0].geometry[0][0]) == 4

    # change the class in the data panel
    building = LabelClass.objects.get(project=scene["project"], name="building")
    page.select_option("#instance-list .class-select", str(building.pk))
    wait_saved(page)
    assert server_instances(pano)[0].label_class_id == building.pk
    page.screenshot(path=str(artifacts / "edit.png"))

    # delete with the trash button; undo brings it back
    page.click("[data-testid=delete-instance]")
    wait_saved(page)
    assert server_instances(pano) == []
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert len(server_instances(pano)) == 1

    # reload: everything is there
    page.reload()
    page.wait_for_function("document.body.dataset.ready === '1'")
    state = page.evaluate("window.label360.state()")
    assert len(state["instances"]) == 1
    assert state["instances"][0]["label_class"] == building.pk
    assert_ring([state["instances"][0]["geometry"][0][0][0]], [moved])
    # the data panel is drawn on the next frame after the data is in: wait for its row
    expect(page.locator("#instance-list .class-select")).to_have_value(str(building.pk))


def test_conflict_keeps_my_edits(scene, signed_in, live_server, artifacts):
    pano = scene["panorama"]
    first = signed_in(scene["users"]["annotator"])
    second = signed_in(scene["users"]["manager"])
    for page in (first, second):
        open_workspace(page, live_server, pano)
        set_camera(page, 0, 0, 90)
    box = canvas_box(first)
    first.focus("#draw-canvas")
    first.keyboard.press("d")
    for x, y in [(200, 200), (300, 200), (300, 300)]:
        click(first, box, x, y)
    first.keyboard.press("Enter")
    wait_saved(first)

    box2 = canvas_box(second)
    second.focus("#draw-canvas")
    second.keyboard.press("d")
    for x, y in [(500, 300), (600, 320), (560, 420)]:
        click(second, box2, x, y)
    second.keyboard.press("Enter")
    wait_state(second, "conflict")
    assert second.is_visible("#banner[data-kind=conflict]")
    second.screenshot(path=str(artifacts / "conflict.png"))
    assert len(server_instances(pano)) == 1  # nothing of the second user's was written

    # nothing overlaps: loading the latest version merges my polygon in by itself
    second.click("#conflict-reload")
    wait_saved(second)
    saved = server_instances(pano)
    assert len(saved) == 2, "both people's polygons are kept"
    assert second.evaluate(f"localStorage.getItem('label360:stash:{pano.pk}')") is None


def test_failed_saves_are_retried(scene, signed_in, live_server):
    pano = scene["panorama"]
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    failing = {"on": True}

    def handle(route):
        if route.request.method in {"PUT", "PATCH"} and failing["on"]:
            route.abort()
        else:
            route.continue_()

    page.route("**/instances/", handle)
    box = canvas_box(page)
    page.focus("#draw-canvas")
    page.keyboard.press("d")
    for x, y in [(200, 200), (320, 210), (260, 320)]:
        click(page, box, x, y)
    page.keyboard.press("Enter")
    wait_state(page, "offline")
    pending = page.evaluate(f"localStorage.getItem('label360:pending:{pano.pk}')")
    assert pending and '"instances"' in pending  # survives a reload until the server has it
    failing["on"] = False
    wait_saved(page)
    assert len(server_instances(pano)) == 1
    assert page.evaluate(f"localStorage.getItem('label360:pending:{pano.pk}')") is None


# ----------------------------------------------------------------------------- depth, review
def floor_depth(width: int, height: int, camera_height: float = 1.6):
    """Distance map and normals of a camera above a flat floor, far field (50 m) above it."""
    lat = np.radians(90 - (np.arange(height) + 0.5) / height * 180)
    dist = np.where(
        lat < -0.01, np.minimum(50.0, camera_height / np.sin(-np.minimum(lat, -1e-6))), 50.0
    )
    depth = np.repeat(dist[:, None], width, axis=1).astype(np.float32)
    lon = np.radians((np.arange(width) + 0.5) / width * 360 - 180)
    rays = np.stack(
        np.broadcast_arrays(
            np.cos(lat)[:, None] * np.sin(lon)[None, :],
            np.sin(lat)[:, None],
            np.cos(lat)[:, None] * np.cos(lon)[None, :],
        ),
        -1,
    )
    floor = (lat < -0.01) & (dist < 50.0)
    normals = np.where(floor[:, None, None], np.array([0.0, 1.0, 0.0]), -rays).astype(np.float32)
    return depth, normals


def add_asset(pano, kind: str, array) -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from inference.models import DerivedAsset

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array))
    data = buf.getvalue()
    name = default_storage.save(
        f"derived/{pano.project_id}/{pano.pk}/{kind}/t-{kind}.npy", ContentFile(data)
    )
    DerivedAsset.objects.create(panorama=pano, kind=kind, file=name, size_bytes=len(data))


def equirect_pixels(page):
    shot = page.locator(".equirect-canvas").screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(float)


def test_depth_view_and_surface_cursor(scene, signed_in, live_server, artifacts):
    pano = scene["panorama"]
    depth, normals = floor_depth(512, 256)
    add_asset(pano, "depth", depth)
    add_asset(pano, "normals", normals)
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    page.wait_for_function("window.label360.state().depth === 'ready'")

    # the equirect viewer switches between the colour panorama and the colourised depth
    colour = equirect_pixels(page)
    page.click("#equirect-depth")
    page.wait_for_function("document.querySelector('.equirect-canvas').dataset.mode === 'depth'")
    assert eventually(lambda: np.abs(equirect_pixels(page) - colour).mean() > 20), (
        "the depth view looks like the colour view"
    )
    shown = equirect_pixels(page)
    assert page.is_visible("#depth-legend")
    h = shown.shape[0]
    sky, ground = shown[int(h * 0.1)], shown[int(h * 0.9)]
    assert sky.std(axis=0).max() < 25, "far field: one colour along a row"
    assert np.abs(sky.mean(0) - ground.mean(0)).sum() > 60, "near floor and far field differ"
    page.screenshot(path=str(artifacts / "depth_view.png"))
    page.click("#equirect-color")
    page.wait_for_function("document.querySelector('.equirect-canvas').dataset.mode === 'color'")

    # the cursor is a disc lying on the floor: an ellipse flattened by the oblique view
    set_camera(page, 20, -40, 90)
    page.keyboard.press("v")
    box = canvas_box(page)
    before = np.asarray(
        Image.open(io.BytesIO(page.locator("#stage").screenshot())).convert("RGB")
    ).astype(float)
    page.mouse.move(box["left"] + box["width"] / 2, box["top"] + box["height"] / 2)
    page.wait_for_function("window.label360.surfaceCursor() !== null")
    cur = page.evaluate("window.label360.surfaceCursor()")
    assert cur["normal"][1] > 0.99, cur
    assert abs(cur["distance"] - 1.6 / np.sin(np.radians(40))) < 0.1, cur
    assert 0.4 < cur["minor"] / cur["major"] < 0.9, cur
    assert page.is_visible("#hud-depth")

    def cursor_drawn() -> bool:
        after = np.asarray(
            Image.open(io.BytesIO(page.locator("#stage").screenshot())).convert("RGB")
        ).astype(float)
        return np.abs(after - before).max(axis=2).__gt__(60).sum() > 100

    assert eventually(cursor_drawn), "no cursor drawn"
    page.screenshot(path=str(artifacts / "depth_cursor.png"))
    # S hides it
    page.keyboard.press("s")
    page.wait_for_function("window.label360.surfaceCursor() === null")


def test_rejection_comment_reaches_the_annotator(scene, signed_in, live_server, artifacts):
    from annotations.workflow import transition

    pano = scene["panorama"]
    transition(pano, "submit", scene["users"]["annotator"])
    reviewer = signed_in(scene["users"]["reviewer"])
    open_workspace(reviewer, live_server, pano)
    reviewer.wait_for_function("window.label360.state().review === 1")
    reviewer.click("#wf-reject")
    reviewer.fill(".modal-text", "The bus on the left is missing.")
    reviewer.click(".modal .btn-primary")
    reviewer.wait_for_function("window.label360.state().review === 2")
    assert "The bus on the left is missing." in reviewer.inner_text("#review-list")

    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    callout = page.wait_for_selector("#review-rejection")
    assert callout.is_visible()  # the panel opens by itself on a rejected panorama
    text = callout.inner_text()
    assert "reviewer" in text and "The bus on the left is missing." in text
    expect(page.locator("#review-list [data-action]")).to_have_count(2)
    page.screenshot(path=str(artifacts / "review_history.png"))


# ----------------------------------------------------------------------------- suggestions
def test_accept_and_reject_suggestions(scene, signed_in, live_server, artifacts):
    from tests.factories import square_geometry

    pano = scene["panorama"]
    car = LabelClass.objects.get(project=scene["project"], name="car")
    made = {}
    for name, lon, score in [("a", -60, 0.9), ("b", -20, 0.7), ("c", 20, 0.55), ("d", 60, 0.3)]:
        made[name] = Instance.objects.create(
            panorama=pano,
            label_class=car,
            geometry=square_geometry(lon, 0, 8),
            source="model",
            is_suggestion=True,
            score=score,
            model_version="test v1",
        )
    pano.bump_revision()
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    # Rows render in chunks after the first frame: wait for them.
    expect(page.locator("#instance-list .inst-row.suggestion")).to_have_count(4)
    expect(page.locator("#suggestion-bar")).to_contain_text("4 suggestions")

    def row(name):
        return f"#instance-list li[data-uid='s{made[name].pk}']"

    def fresh(name):
        return Instance.objects.filter(pk=made[name].pk).first()

    page.click(f"{row('d')} [data-testid=reject-suggestion]")
    page.wait_for_function("window.label360.state().instances.length === 3")
    assert fresh("d") is None
    page.click(f"{row('b')} [data-testid=accept-suggestion]")
    page.wait_for_selector(f"{row('b')}:not(.suggestion)")
    assert fresh("b").is_suggestion is False and fresh("b").source == "model"

    # someone else writes in between: the 409 loads the latest set, nothing is accepted
    from annotations.models import Panorama

    Panorama.objects.get(pk=pano.pk).bump_revision()
    page.click(f"{row('c')} [data-testid=accept-suggestion]")
    page.wait_for_selector(".toast-error >> text=Someone else changed")
    assert fresh("c").is_suggestion is True
    page.wait_for_function(
        f"window.label360.state().revision === {Panorama.objects.get(pk=pano.pk).revision}"
    )

    # accept everything scoring at least 0.5: a (0.9) and c (0.55)
    page.fill("#accept-min-score", "0.5")
    page.dispatch_event("#accept-min-score", "change")
    assert page.inner_text("#accept-above") == "Accept 2"
    page.click("#accept-above")
    page.wait_for_selector("#suggestion-bar", state="hidden")
    assert not Instance.objects.filter(panorama=pano, is_suggestion=True).exists()
    expect(page.locator("#instance-list .inst-row.suggestion")).to_have_count(0)
    assert page.evaluate("window.label360.state().save") == "saved"
    page.screenshot(path=str(artifacts / "suggestions.png"))


def test_box_tool_suggests_a_polygon(scene, signed_in, live_server, artifacts):
    from annotations.uploads import store_panorama

    # a bright object (lon ±12°, lat ±8°) on a dark, slightly noisy background
    w, h = 1024, 512
    rng = np.random.default_rng(0)
    img = (30 + rng.integers(0, 12, (h, w, 3))).astype(np.uint8)
    x0, x1 = int((180 - 12) / 360 * w), int((180 + 12) / 360 * w)
    y0, y1 = int((90 - 8) / 180 * h), int((90 + 8) / 180 * h)
    img[y0:y1, x0:x1] = (230, 200, 40)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=95)
    pano = store_panorama(scene["project"], "object.jpg", buf.getvalue())
    pano.assignees.add(scene["users"]["annotator"])

    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    set_camera(page, 0, 0, 60)
    box = canvas_box(page)
    vw, vh = int(box["width"]), int(box["height"])
    view = View(0.0, 0.0, 0.0, 60.0, vw, vh)
    (ax, bx), (ay, by) = view.lonlat_to_pixel(np.array([-16.0, 16.0]), np.array([11.0, -11.0]))
    page.focus("#draw-canvas")
    page.keyboard.press("b")
    page.mouse.move(box["left"] + float(ax), box["top"] + float(ay))
    page.mouse.down()
    for k in range(1, 6):
        page.mouse.move(
            box["left"] + float(ax) + (float(bx) - float(ax)) * k / 5,
            box["top"] + float(ay) + (float(by) - float(ay)) * k / 5,
        )
    page.mouse.up()
    page.wait_for_function(
        "(() => { const i = window.label360.state().interactive;"
        " return i && !i.busy && i.result; })()",
        timeout=30000,
    )
    assert page.is_visible("#box-suggestion")
    result = page.evaluate("window.label360.state().interactive.result")
    assert result["is_suggestion"] is True
    ring = np.array(result["geometry"][0][0])
    assert -16 < ring[:, 0].min() < -8 and 8 < ring[:, 0].max() < 16, ring
    assert -11 < ring[:, 1].min() < -5 and 5 < ring[:, 1].max() < 11, ring
    page.screenshot(path=str(artifacts / "box_tool.png"))
    page.keyboard.press("Enter")
    wait_saved(page)
    saved = server_instances(pano)
    assert len(saved) == 1
    assert saved[0].is_suggestion is False and saved[0].source == "model"
    assert page.is_hidden("#box-suggestion")


# ----------------------------------------------------------------------------- datasets
def label_panorama(pano, items):
    """items: [(class name, geometry)] written to the main Instance table (the reference)."""
    from annotations.models import Panorama

    for order, (name, geometry) in enumerate(items):
        Instance.objects.create(
            panorama=pano,
            label_class=LabelClass.objects.get(project=pano.project, name=name),
            geometry=geometry,
            order=order,
        )
    Panorama.objects.filter(pk=pano.pk).update(revision=pano.revision + 1)


def test_viewer_exports_coco_and_downloads_the_zip(
    scene, signed_in, live_server, artifacts, settings
):
    import json
    import zipfile

    from datasets.models import Export
    from tests.factories import square_geometry

    settings.LABEL360_EXPORTS_INLINE = True  # no Celery worker here: exports run in the request
    pano = scene["panorama"]
    label_panorama(pano, [("car", square_geometry(20, 0)), ("building", square_geometry(-60, 10))])

    page = signed_in(scene["users"]["viewer"])
    page.goto(f"{live_server.url}/projects/{scene['project'].pk}/")
    page.click("#tab-export")  # reachable from the navigator
    page.wait_for_selector("#export-form")
    page.wait_for_selector("#export-list[data-loaded]", state="attached")
    assert page.is_visible("text=No exports yet.")
    assert page.is_checked("#format-coco")
    # only the car class: the building must not be exported
    page.locator("#export-classes label", has_text="building").locator("input").uncheck()
    page.check("#export-images")
    page.click("#export-submit")
    page.wait_for_selector("#export-progress[data-status=ready]")
    page.wait_for_selector("#export-list tr[data-status=ready]")
    page.screenshot(path=str(artifacts / "export.png"), full_page=True)

    with page.expect_download() as info:
        page.click("#export-download")
    download = info.value
    assert download.suggested_filename.endswith(".zip")
    path = download.path()
    assert zipfile.is_zipfile(path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        coco = json.loads(archive.read("annotations/instances.json"))
    assert any(n.startswith("images/") for n in names)
    assert [c["name"] for c in coco["categories"]] == ["car"]
    assert len(coco["images"]) == 1 and len(coco["annotations"]) == 1
    assert coco["annotations"][0]["label360"]["instance_id"] == (
        Instance.objects.get(panorama=pano, label_class__name="car").pk
    )
    export = Export.objects.get()
    assert export.options["classes"] == [
        LabelClass.objects.get(project=pano.project, name="car").pk
    ]
    assert export.requested_by == scene["users"]["viewer"]

    # a job that is still running (as with the Celery worker): the page polls until it is ready
    def as_running(route):
        response = route.fetch()
        body = response.json()
        body.update(
            status="running",
            download_url=None,
            job={"status": "running", "progress": 0.4, "message": "panorama 1/1", "error": ""},
        )
        route.fulfill(status=202, json=body)

    page.route(
        "**/api/exports/",
        lambda route: as_running(route) if route.request.method == "POST" else route.continue_(),
    )
    page.check("#format-png")
    page.click("#export-submit")
    page.wait_for_selector("#export-progress[data-status=running]")
    assert "40%" in page.inner_text("#export-progress")
    page.screenshot(path=str(artifacts / "export_running.png"))
    page.wait_for_selector("#export-progress[data-status=ready]", timeout=10000)
    page.wait_for_function(
        "document.querySelectorAll('#export-list tr[data-status=ready]').length === 2"
    )
    assert Export.objects.filter(format="png", status="ready").exists()


def test_agreement_page_shows_the_report_of_a_round(scene, signed_in, live_server, artifacts):
    from rest_framework.test import APIClient

    from datasets.models import AgreementRound

    users, project, pano = scene["users"], scene["project"], scene["panorama"]
    car = LabelClass.objects.get(project=project, name="car").pk
    building = LabelClass.objects.get(project=project, name="building").pk
    square = [[[[20.0, -5.0], [40.0, -5.0], [40.0, 15.0], [20.0, 15.0]]]]
    shifted = [[[[22.0, -5.0], [42.0, -5.0], [42.0, 15.0], [22.0, 15.0]]]]
    seam = [[[[170.0, -10.0], [-170.0, -10.0], [-170.0, 20.0], [170.0, 20.0]]]]

    def client(user):
        c = APIClient()
        c.force_authenticate(user)
        return c

    made = client(users["manager"]).post(
        "/api/agreement-rounds/",
        {
            "project": project.pk,
            "name": "Pilot round",
            "panoramas": [pano.pk],
            "annotators": [users["annotator"].pk, users["reviewer"].pk],
        },
        format="json",
    )
    assert made.status_code == 201, made.data
    rid = made.data["id"]
    replicas = {
        "annotator": [
            {"label_class": car, "geometry": square},
            {"label_class": building, "geometry": seam},
        ],
        "reviewer": [{"label_class": car, "geometry": shifted}],
    }
    for name, instances in replicas.items():
        r = client(users[name]).put(
            f"/api/agreement-rounds/{rid}/panoramas/{pano.pk}/replica/",
            {"instances": instances, "submitted": True, "base_revision": 0},
            format="json",
        )
        assert r.status_code == 200, r.data
    label_panorama(pano, [("car", square)])  # the reference in the main table
    expected = client(users["viewer"]).get(f"/api/agreement-rounds/{rid}/report/").data

    # a viewer (researcher) reads the report; no "New round" for them
    page = signed_in(users["viewer"])
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("#tab-agreement")
    page.wait_for_function(f"document.body.dataset.reportReady === '{rid}'")
    assert page.locator("#new-round").count() == 0
    overall = expected["overall"]["iou"]
    assert expected["classes"]["car"]["iou"] == pytest.approx(18 / 22, abs=0.01)
    assert f"{overall * 100:.1f}%" in page.inner_text("#stat-overall")
    classes = page.inner_text("#agreement-classes")
    assert "car" in classes and "building" in classes
    car_row = page.locator("#agreement-classes tbody tr", has_text="car").inner_text()
    assert f"{expected['classes']['car']['iou'] * 100:.1f}%" in car_row
    pairs = page.inner_text("#agreement-pairs")
    assert "annotator" in pairs and "reviewer" in pairs and "reference" in pairs
    assert page.locator("#agreement-disagreements tr[data-kind=only_in_a]").count() >= 1
    assert page.locator("#replica-progress").count() == 0  # viewers see no one's replicas
    page.screenshot(path=str(artifacts / "agreement.png"), full_page=True)

    csv = page.request.get(live_server.url + page.get_attribute("#report-csv", "href"))
    assert csv.ok and "annotator,reviewer,car" in csv.text()
    as_json = page.request.get(live_server.url + page.get_attribute("#report-json", "href"))
    assert as_json.ok and as_json.json()["overall"]["iou"] == pytest.approx(overall)
    # annotators only: the reference pairs disappear
    page.click("#reference-switch [data-reference=none]")
    page.wait_for_selector("#agreement-report[data-reference=none] #agreement-pairs")
    assert "reference" not in page.inner_text("#agreement-pairs")

    # a manager creates a round through the dialog
    manager = signed_in(users["manager"])
    manager.goto(f"{live_server.url}/projects/{project.pk}/agreement/")
    manager.wait_for_function(f"document.body.dataset.reportReady === '{rid}'")
    assert "annotator 1/1" in manager.inner_text("#replica-progress")
    manager.click("#new-round")
    manager.fill("#round-name", "Round two")
    for name in ("annotator", "reviewer"):
        manager.locator("#round-annotators label", has_text=name).locator("input").check()
    manager.locator("#round-panoramas input").first.check()
    manager.screenshot(path=str(artifacts / "agreement_new_round.png"))
    manager.click("#round-create")
    manager.wait_for_function(f"(document.body.dataset.reportReady || '{rid}') !== '{rid}'")
    new = AgreementRound.objects.exclude(pk=rid).get()
    assert manager.get_attribute("#agreement-report", "data-round-id") == str(new.pk)
    assert new.name == "Round two"
    assert set(new.annotators.values_list("username", flat=True)) == {"annotator", "reviewer"}
    assert list(new.panoramas.values_list("pk", flat=True)) == [pano.pk]
    assert "No replicas yet" in manager.inner_text("#agreement-report")
