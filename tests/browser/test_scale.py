"""The workspace with 5,000 instances in headless Chromium: the view draws exactly the instances
the Python geometry core finds in it (culling by bounding cap loses none), the data panel lists
a window of rows (selecting instance #4,500 renders ~100 rows, not 4,500), and a pan stays
responsive (JS time per frame recorded as an artifact; the benchmark has the figures)."""

from __future__ import annotations

import json
import math
import os
import statistics

import numpy as np
import pytest

from annotations.models import Instance, LabelClass
from label360.sphere.clipping import geometry_to_view
from label360.sphere.polygons import ring_vectors
from label360.sphere.views import View
from tests.browser.test_workspace import open_workspace, set_camera

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

N = 5000
MARGIN_PX = 8  # the overlay clips to the view widened by this (frontend/src/render/overlay.ts)


@pytest.fixture
def crowded(users, project):
    from tests.factories import make_panorama

    pano = make_panorama(project, seed=5, width=1024, name="crowded.jpg")
    classes = list(LabelClass.objects.filter(project=project))
    rng = np.random.default_rng(1)
    items = []
    for k in range(N):
        lon0, lat0, radius = rng.uniform(-180, 180), rng.uniform(-70, 70), rng.uniform(1, 4)
        ring = []
        for a in np.linspace(0, 2 * np.pi, 20, endpoint=False):
            lon = lon0 + radius * np.cos(a) / np.cos(np.radians(lat0))
            ring.append([float((lon + 180) % 360 - 180), float(lat0 + radius * np.sin(a))])
        items.append(
            Instance(
                panorama=pano,
                label_class=classes[k % len(classes)],
                geometry=[[ring]],
                order=k,
                attributes={"note": f"object {k}"},
            )
        )
    Instance.objects.bulk_create(items, batch_size=1000)
    pano.bump_revision()
    return pano, [i.geometry for i in Instance.objects.filter(panorama=pano).order_by("order")]


def next_frames(page, n: int = 2) -> None:
    """Wait until the workspace has drawn n more frames (software GL: ~0.5 s each here)."""
    page.evaluate(
        f"""new Promise((done) => {{ let k = {n};
        const tick = () => (--k ? requestAnimationFrame(tick) : done());
        requestAnimationFrame(tick); }})"""
    )


def visible_in_python(geometries: list, params: dict) -> int:
    """Instances with anything in the view widened by the overlay's margin (same focal)."""
    width, height = params["width"] + 2 * MARGIN_PX, params["height"] + 2 * MARGIN_PX
    focal = params["width"] / 2 / math.tan(math.radians(params["hfov"]) / 2)
    view = View(
        yaw=params["yaw"],
        pitch=params["pitch"],
        roll=params["roll"],
        hfov=math.degrees(2 * math.atan(width / 2 / focal)),
        width=width,
        height=height,
    )
    # only instances with a vertex within 80° of the view's axis can show (the widest view
    # here reaches 63° from it): the exact test for those
    axis = view.rotation() @ np.array([0.0, 0.0, 1.0])
    near = [
        g
        for g in geometries
        if (ring_vectors(np.asarray(g[0][0])) @ axis).max() > math.cos(math.radians(80))
    ]
    return sum(bool(geometry_to_view(g, view, validate=False)) for g in near)


def test_five_thousand_instances(crowded, users, signed_in, live_server, artifacts):
    pano, geometries = crowded
    page = signed_in(users["manager"], viewport=(1600, 900))
    page.set_default_timeout(60000)
    open_workspace(page, live_server, pano)
    page.wait_for_function("window.label360.state().marks.overlayDrawn")

    # culling: the same instances as the Python core, for views looking anywhere (poles too)
    for yaw, pitch, hfov in [(0, 0, 90), (137, -35, 60), (-90, 80, 120), (45, -89, 100)]:
        set_camera(page, yaw, pitch, hfov)
        next_frames(page)
        params = page.evaluate("window.label360.view()")
        drawn = int(page.evaluate("document.body.dataset.overlayInstances"))
        assert drawn == visible_in_python(geometries, params), (yaw, pitch, hfov)
        assert drawn > 50  # a crowded view, not an empty one

    # the data panel lists a window of rows around the selection
    rows = "#instance-list .inst-row"
    assert page.locator(rows).count() == 100
    page.evaluate(
        "(() => { const s = window.label360.workspace.store; s.select(s.instances[4499].uid); })()"
    )
    page.wait_for_selector(f"{rows}.selected[data-index='4499']")
    assert page.locator(rows).count() <= 100
    assert page.locator("#instances-previous").is_visible()
    assert page.locator("#instances-more").is_visible()
    page.click("#instances-previous")  # 200 more rows above, the window keeps the selection
    page.wait_for_selector(f"{rows}[data-index='4289']")
    assert page.locator(f"{rows}.selected[data-index='4499']").count() == 1

    # panning: JS per frame recorded (figures: bench/ui_render.py)
    page.evaluate("window.label360.workspace.store.select(null)")
    next_frames(page, 3)
    before = len(page.evaluate("window.label360.frameTimes()"))
    for k in range(20):
        page.evaluate(f"window.label360.setCamera({{yaw: {k * 3}, pitch: 5, hfov: 90}})")
        next_frames(page, 1)
    times = page.evaluate("window.label360.frameTimes()")[before:]
    assert len(times) >= 15
    page.screenshot(path=str(artifacts / "scale_5000.png"))
    (artifacts / "scale_5000.json").write_text(
        json.dumps(
            {
                "frames": len(times),
                "median_ms": statistics.median(times),
                "max_ms": max(times),
                "load": os.getloadavg(),
            }
        )
    )
