"""The annotator's tools in headless Chromium: attributes in the data panel, lock, zoom to fit,
hide by class / hide all others, search, class picker and class shortcuts, self-crossing clicks
refused, the equirect viewer live while drawing (and enlarged), hiding in the Edit tool,
keyboard crosshair drawing, the light theme, and active-time recording."""

from __future__ import annotations

import io
import math
import os

import numpy as np
import pytest
from PIL import Image

from annotations.models import ActiveTime, Instance, LabelClass
from label360.sphere.shapes import upright_rectangle
from label360.sphere.views import View
from tests.browser.test_workspace import (
    assert_ring,
    canvas_box,
    click,
    eventually,
    expected_ring,
    open_workspace,
    set_camera,
    wait_saved,
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCHEMA = [
    {"name": "occluded", "type": "bool"},
    {"name": "plate", "type": "str"},
    {"name": "kind", "type": "enum", "options": ["sedan", "van"]},
]


@pytest.fixture
def scene(users, project):
    from tests.factories import make_panorama, square_geometry

    pano = make_panorama(project, seed=3, width=1024, name="street_0001.jpg")
    pano.assignees.add(users["annotator"])
    car = LabelClass.objects.get(project=project, name="car")
    car.attribute_schema = SCHEMA
    car.save()
    building = LabelClass.objects.get(project=project, name="building")
    Instance.objects.create(
        panorama=pano, label_class=car, geometry=square_geometry(0, 0, 8), order=0
    )
    Instance.objects.create(
        panorama=pano, label_class=building, geometry=square_geometry(60, 10, 12), order=1
    )
    return {"users": users, "project": project, "panorama": pano, "car": car}


def overlay_pixel(page, x, y):
    """RGBA of the drawing overlay at CSS pixel (x, y)."""
    return page.evaluate(
        f"""(() => {{ const c = document.getElementById('draw-canvas');
        const d = window.devicePixelRatio || 1;
        return Array.from(c.getContext('2d').getImageData(Math.round({x} * d), Math.round({y} * d), 1, 1).data); }})()"""
    )


def equirect_png(page) -> np.ndarray:
    shot = page.locator(".equirect-canvas").screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)


def equirect_unlike(page, reference: np.ndarray) -> np.ndarray:
    """The equirect viewer once it differs from ``reference`` (or as it is after
    :func:`eventually` gives up): a loaded machine may take more than a frame to draw it."""
    eventually(lambda: np.abs(equirect_png(page) - reference).sum() > 0)
    return equirect_png(page)


def test_attributes_lock_fit_search_and_hiding(scene, signed_in, live_server, artifacts):
    pano = scene["panorama"]
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    set_camera(page, 0, 0, 90)
    box = canvas_box(page)
    cx, cy = box["width"] / 2, box["height"] / 2

    # attributes of the selected car, per its class's schema, saved with the set
    page.click("#instance-list .inst-row[data-index='0']")
    page.wait_for_selector("#attribute-form")
    page.check("#attribute-form [data-attr=occluded]")
    page.select_option("#attribute-form [data-attr=kind]", "van")
    wait_saved(page)
    # the panel re-renders while the user types (an autosave finishing, another control):
    # the half-typed text and the caret survive, and leaving the field commits it
    page.click("#attribute-form [data-attr=plate]")
    page.keyboard.type("HB 20")
    page.evaluate("window.label360.workspace.instancesPanel.render()")
    assert page.evaluate("document.activeElement.dataset.attr") == "plate"
    page.keyboard.type("41")
    page.keyboard.press("Tab")
    wait_saved(page)
    car = Instance.objects.get(panorama=pano, label_class=scene["car"])
    assert car.attributes == {"occluded": True, "kind": "van", "plate": "HB 2041"}
    page.screenshot(path=str(artifacts / "annotator_attributes.png"))

    # zoom to fit: the camera turns to the instance and narrows the FOV to frame it
    set_camera(page, 120, 20, 110)
    page.focus("#draw-canvas")
    page.keyboard.press("f")
    view = page.evaluate("window.label360.view()")
    assert abs(view["yaw"]) < 0.5 and abs(view["pitch"]) < 0.5
    assert 20 <= view["hfov"] < 60, view

    # lock: clicks in the view pass through, Delete refuses; unlock restores editing
    set_camera(page, 0, 0, 90)
    page.keyboard.press("e")
    click(page, box, cx, cy)
    assert page.evaluate("window.label360.state().selected") is not None
    page.keyboard.press("l")
    page.wait_for_selector("#instance-list .inst-row.locked")
    page.keyboard.press("Escape")
    click(page, box, cx, cy)
    assert page.evaluate("window.label360.state().selected") is None
    page.click("#instance-list .inst-row[data-index='0']")
    page.focus("#draw-canvas")
    page.keyboard.press("Delete")
    page.wait_for_timeout(300)
    assert len(page.evaluate("window.label360.state().instances")) == 2
    page.keyboard.press("l")

    # hiding the selected instance with the Edit tool takes it out of the next frame, with no
    # other input. The frame's own count of drawn instances says so: on a loaded machine
    # headless Chromium's software canvas has been seen to go on showing the previous frame
    # after a correct draw, until the next one, which a pixel read takes for no redraw.
    click(page, box, cx, cy)
    page.wait_for_function("window.label360.state().selected !== null")
    filled = overlay_pixel(page, cx, cy)
    assert filled[3] > 0, "the selected instance is drawn"
    drawn = int(page.evaluate("document.body.dataset.overlayInstances"))
    page.keyboard.press("h")
    page.wait_for_function(f"document.body.dataset.overlayInstances === '{drawn - 1}'")
    page.keyboard.press("h")
    # hide all others, then show all again
    page.keyboard.press("Shift+H")
    page.wait_for_selector("#instance-list .inst-row.hidden[data-index='1']")
    page.keyboard.press("Shift+H")
    page.wait_for_selector("#instance-list .inst-row.hidden", state="detached")
    # hide by class
    page.click("#class-panel [data-class-name=building] [data-testid=hide-class]")
    page.wait_for_selector("#instance-list .inst-row.hidden[data-index='1']")
    page.click("#class-panel [data-class-name=building] [data-testid=hide-class]")

    # search: by class name and by attribute value
    page.focus("#draw-canvas")
    page.keyboard.press("/")
    page.keyboard.type("build")
    page.wait_for_function("document.querySelectorAll('#instance-list .inst-row').length === 1")
    page.fill("#instance-search", "hb 20")
    page.wait_for_selector("#instance-list .inst-row[data-index='0']")
    assert page.locator("#instance-list .inst-row").count() == 1

    # class picker: type to filter, Enter picks
    page.fill("#instance-search", "")
    page.focus("#draw-canvas")
    page.keyboard.press("Escape")
    page.keyboard.press("t")
    page.keyboard.type("bui")
    page.keyboard.press("Enter")
    page.wait_for_selector("#class-panel .class-row.active[data-class-name=building]")


def test_self_crossing_refused_live_equirect_and_crosshair(
    scene, signed_in, live_server, artifacts
):
    pano = scene["panorama"]
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    set_camera(page, -90, 0, 90)  # an empty part of the panorama
    box = canvas_box(page)
    w, h = int(box["width"]), int(box["height"])
    cx, cy = w / 2, h / 2
    page.focus("#draw-canvas")
    page.keyboard.press("d")
    before = equirect_png(page)
    click(page, box, cx - 100, cy - 80)
    click(page, box, cx + 100, cy - 80)
    page.mouse.move(box["left"] + cx, box["top"] + cy + 60)
    during = equirect_unlike(page, before)
    assert np.abs(during - before).sum() > 1000, "the draft is drawn in the equirect viewer"
    page.mouse.move(box["left"] + cx + 40, box["top"] + cy + 90)
    moved = equirect_unlike(page, during)
    assert np.abs(moved - during).sum() > 0, "the rubber band follows the mouse there"
    # a bow tie: the third click is fine, the fourth would cross the first edge
    click(page, box, cx - 100, cy + 80)
    click(page, box, cx + 100, cy - 120)
    assert len(page.evaluate("window.label360.state().draft")) == 3
    page.wait_for_selector(".toast:has-text('cross itself')")
    page.screenshot(path=str(artifacts / "annotator_self_crossing.png"))
    # closing a valid triangle works
    page.keyboard.press("Enter")
    wait_saved(page)
    assert Instance.objects.filter(panorama=pano).count() == 3

    # the equirect viewer can be enlarged (and back with Esc)
    small = page.eval_on_selector(".equirect-canvas", "c => c.getBoundingClientRect().width")
    page.click("#equirect-enlarge")
    page.wait_for_function(
        f"document.querySelector('.equirect-canvas').getBoundingClientRect().width > 2 * {small}"
    )
    large = page.eval_on_selector(".equirect-canvas", "c => c.getBoundingClientRect().width")
    assert large > 2 * small
    page.screenshot(path=str(artifacts / "annotator_equirect_enlarged.png"))
    page.keyboard.press("Escape")
    page.wait_for_function(
        "!document.getElementById('equirect-panel').classList.contains('enlarged')"
    )

    # keyboard only: X shows a crosshair, arrows move it, Space places vertices, Enter closes
    set_camera(page, -150, 0, 90)
    page.focus("#draw-canvas")
    page.keyboard.press("x")
    start = (w / 2 - 0.5, h / 2 - 0.5)
    moves = [("ArrowLeft", 5, True), ("ArrowDown", 3, True), ("ArrowRight", 9, True)]
    points = [start]
    page.keyboard.press(" ")
    x, y = start
    for key, n, shift in moves:
        for _ in range(n):
            page.keyboard.press(f"Shift+{key}" if shift else key)
        step = 20
        x += {"ArrowLeft": -step, "ArrowRight": step}.get(key, 0) * n
        y += {"ArrowUp": -step, "ArrowDown": step}.get(key, 0) * n
        page.keyboard.press(" ")
        points.append((x, y))
    page.keyboard.press("Enter")
    page.keyboard.press("x")
    wait_saved(page)
    saved = Instance.objects.filter(panorama=pano).order_by("order").last()
    view = View(-150.0, 0.0, 0.0, 90.0, w, h)
    # expected_ring takes CSS offsets of clicks (pixel centre at +0.5): the crosshair sits on
    # pixel coordinates, so shift by half a pixel
    assert_ring(
        saved.geometry[0][0], expected_ring(view, [(px + 0.5, py + 0.5) for px, py in points])
    )


def test_light_theme_favicon_and_active_time(scene, signed_in, live_server, artifacts):
    pano = scene["panorama"]
    page = signed_in(scene["users"]["annotator"])
    icon = page.request.get(f"{live_server.url}/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"
    assert Image.open(io.BytesIO(icon.body())).format == "ICO"
    open_workspace(page, live_server, pano)
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    bg = page.evaluate("getComputedStyle(document.querySelector('.sidebar')).backgroundColor")
    assert bg == "rgb(255, 255, 255)"
    page.screenshot(path=str(artifacts / "annotator_light_theme.png"))
    first_visit = page.evaluate("window.label360.activity().total")
    # the theme holds on the next page
    page.goto(f"{live_server.url}/")
    page.wait_for_selector(".project-card")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    page.screenshot(path=str(artifacts / "projects_light_theme.png"))
    page.click("#theme-toggle")

    # active time: input while the tab has focus counts; leaving the page reports it
    open_workspace(page, live_server, pano)
    box = canvas_box(page)
    for k in range(6):
        page.mouse.move(box["left"] + 100 + 10 * k, box["top"] + 100)
        page.wait_for_timeout(500)
    counted = page.evaluate("window.label360.activity().total")
    assert counted > 1.5
    page.goto(f"{live_server.url}/")
    page.wait_for_selector(".project-card")
    page.wait_for_timeout(500)
    row = ActiveTime.objects.get(panorama=pano, user=scene["users"]["annotator"])
    assert 1.0 < row.seconds <= first_visit + counted + 1.5
    assert math.isfinite(row.seconds)


def test_the_equirect_viewer_highlights_the_selection_over_its_cached_layer(
    scene, signed_in, live_server, artifacts
):
    """Selecting draws the chosen instance in white over the cached instance layer (selecting
    among 5,000 instances must not redraw them all): the highlight follows the selection and
    leaves the previous instance in its class colour."""
    pano = scene["panorama"]
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)

    def white_near(lon: float, lat: float, half: float) -> int:
        """White pixels in the box of a square of ``half`` degrees around (lon, lat)."""
        img = equirect_png(page)
        h, w = img.shape[:2]
        x0, x1 = (int((lo + 180) / 360 * w) for lo in (lon - half - 2, lon + half + 2))
        y0, y1 = (int((90 - la) / 180 * h) for la in (lat + half + 2, lat - half - 2))
        return int((img[y0:y1, x0:x1].min(axis=2) > 235).sum())

    car, building = (0, 0, 8), (60, 10, 12)  # the scene's squares: lon, lat, half size
    assert white_near(*car) == 0 and white_near(*building) == 0
    page.click("#instance-list .inst-row[data-index='0']")
    page.wait_for_function("window.label360.state().selected !== null")
    assert eventually(lambda: white_near(*car) > 20 and white_near(*building) == 0)
    page.click("#instance-list .inst-row[data-index='1']")
    assert eventually(lambda: white_near(*building) > 20 and white_near(*car) == 0)
    page.locator(".equirect-canvas").screenshot(path=str(artifacts / "equirect_selection.png"))


def pick_shape_tool(page, live_server, pano, camera, key, tool) -> dict:
    """Open the workspace at ``camera`` (yaw, pitch, hfov) and pick a shape tool by its key;
    the canvas box (with its centre cx, cy)."""
    open_workspace(page, live_server, pano)
    set_camera(page, *camera)
    box = canvas_box(page)
    box["cx"], box["cy"] = box["width"] / 2, box["height"] / 2
    page.focus("#draw-canvas")
    page.keyboard.press(key)
    assert page.evaluate("window.label360.state().tool") == tool
    return box


def test_ellipse_tool_makes_a_round_outline_from_three_clicks(
    scene, signed_in, live_server, artifacts
):
    """Looking down near the nadir (where a manhole is a curve in the equirect image), O picks
    the ellipse tool: the ends of the long axis, then one more outline point make an instance
    whose vertices lie on that ellipse in the view; a third click on the axis is refused."""
    pano = scene["panorama"]
    page = signed_in(scene["users"]["annotator"])
    box = pick_shape_tool(page, live_server, pano, (30, -70, 90), "o", "ellipse")
    w, h, cx, cy = box["width"], box["height"], box["cx"], box["cy"]
    before = Instance.objects.filter(panorama=pano).count()

    a, b = 150.0, 80.0
    third = (60.0, b * math.sqrt(1 - (60.0 / a) ** 2))
    click(page, box, cx - a, cy)
    click(page, box, cx + a, cy)
    page.mouse.move(box["left"] + cx, box["top"] + cy + 40)  # the dashed preview follows
    page.wait_for_timeout(100)
    # a third click on the axis fixes no ellipse: refused, nothing made, the axis kept
    click(page, box, cx + 30, cy)
    page.wait_for_selector(".toast:has-text('between the two ends of the axis')")
    assert len(page.evaluate("window.label360.state().draft")) == 2
    page.mouse.move(box["left"] + cx + third[0], box["top"] + cy + third[1] + 12)
    page.wait_for_timeout(100)
    page.screenshot(path=str(artifacts / "ellipse_preview.png"))
    click(page, box, cx + third[0], cy + third[1])
    wait_saved(page)
    assert Instance.objects.filter(panorama=pano).count() == before + 1
    made = Instance.objects.filter(panorama=pano).order_by("order").last()
    assert len(made.geometry) == 1 and len(made.geometry[0]) == 1
    ring = np.asarray(made.geometry[0][0], dtype=np.float64)
    assert 16 <= len(ring) <= 96
    # the vertices, seen through the same camera (the Python twin), lie on the clicked ellipse
    # (mouse positions are pixel centres at +0.5)
    x, y = View(30.0, -70.0, 0.0, 90.0, w, h).lonlat_to_pixel(ring[:, 0], ring[:, 1])
    r = ((x - (cx - 0.5)) / a) ** 2 + ((y - (cy - 0.5)) / b) ** 2
    assert np.abs(r - 1).max() < 2e-3, r
    # it runs round the whole ellipse: both ends of both axes are near some vertex
    for ex, ey in ((a, 0), (-a, 0), (0, b), (0, -b)):
        assert np.hypot(x - (cx - 0.5 + ex), y - (cy - 0.5 + ey)).min() < 0.2 * a
    page.screenshot(path=str(artifacts / "ellipse_made.png"))


def test_rectangle_tool_makes_an_upright_rectangle_from_two_corners(
    scene, signed_in, live_server, artifacts
):
    """R picks the rectangle tool: two opposite corners make an instance whose four corners are
    the upright rectangle of the geometry core (sides on the world's verticals); in a level
    view centred on it, it is the axis-aligned rectangle that was dragged out. Corners on one
    vertical are refused."""
    pano = scene["panorama"]
    page = signed_in(scene["users"]["annotator"])
    box = pick_shape_tool(page, live_server, pano, (-100, 0, 80), "r", "rect")
    w, h, cx, cy = box["width"], box["height"], box["cx"], box["cy"]
    before = Instance.objects.filter(panorama=pano).count()
    click(page, box, cx - 90, cy - 140)
    click(page, box, cx - 90, cy + 60)  # one meridian (a level view's column): refused
    page.wait_for_selector(".toast:has-text('opposite corner')")
    assert len(page.evaluate("window.label360.state().draft")) == 1
    page.mouse.move(box["left"] + cx + 60, box["top"] + cy + 90)  # the preview follows
    page.wait_for_timeout(100)
    page.screenshot(path=str(artifacts / "rectangle_preview.png"))
    click(page, box, cx + 90, cy + 110)
    wait_saved(page)
    assert Instance.objects.filter(panorama=pano).count() == before + 1
    made = Instance.objects.filter(panorama=pano).order_by("order").last()
    view = View(-100.0, 0.0, 0.0, 80.0, w, h)
    clicks = [
        [float(v) for v in view.pixel_to_lonlat(px - 0.5, py - 0.5)]
        for px, py in ((cx - 90, cy - 140), (cx + 90, cy + 110))
    ]
    assert_ring(made.geometry[0][0], upright_rectangle(*clicks))
    # symmetric about the view's centre column, level: the axis-aligned rectangle dragged out
    x, y = view.lonlat_to_pixel(*np.asarray(made.geometry[0][0], dtype=np.float64).T)
    assert np.allclose(x + 0.5, [cx - 90, cx + 90, cx + 90, cx - 90], atol=0.05)
    assert abs(y[0] - y[1]) < 0.05 and abs(y[2] - y[3]) < 0.05
    page.screenshot(path=str(artifacts / "rectangle_made.png"))

    # the rectangle is an ordinary polygon, selected once made: E, then a drag from the middle
    # of its top edge inserts a vertex where the drag ends (a box seen at an angle)
    page.keyboard.press("e")
    top_mid = ((x[0] + x[1]) / 2 + 0.5, (y[0] + y[1]) / 2 + 0.5)
    page.mouse.move(box["left"] + top_mid[0], box["top"] + top_mid[1])
    page.mouse.down()
    page.mouse.move(box["left"] + top_mid[0] + 10, box["top"] + top_mid[1] - 40, steps=5)
    page.mouse.up()
    wait_saved(page)
    made.refresh_from_db()
    ring = np.asarray(made.geometry[0][0], dtype=np.float64)
    assert len(ring) == 5
    px, py = view.lonlat_to_pixel(ring[:, 0], ring[:, 1])
    dropped = np.hypot(px + 0.5 - (top_mid[0] + 10), py + 0.5 - (top_mid[1] - 40))
    assert dropped.min() < 1.0
    page.screenshot(path=str(artifacts / "rectangle_edited.png"))
