"""Benchmark of the annotation UI (a script, not a test).

Starts the Django dev server against a throwaway SQLite database, creates an 8192×4096 panorama
with 5,000 instances × 20 vertices (100,000 vertices; ``--instances``), each with attribute
values of its class's schema, and the derived images its upload job makes (the job run as in
production), opens the workspace in headless Chromium (SwiftShader WebGL) and prints:

* first frame after opening (from navigation start), first and second open; the first frame
  with the instances drawn; the JS heap (after a garbage collection) once everything is in and
  after dragging;
* JS time per rendered frame while dragging the camera (WebGL draw submission + overlay +
  equirect viewer + panels; median and 95th percentile) and the interval between frames;
* cold opens: fresh 8K uploads opened for the first time, half after their upload job finished
  (the page only serves files) and half before it ran (the same-run baseline: the preview and
  tiles are made on the page's requests), alternating;
* the time of a bulk save of all instances.

    .venv/bin/python bench/ui_render.py [--instances 5000] [--vertices 20] [--cold 1]
        [--baseline-js OLD/label360.js] [--data-dir DIR] [--opens-only]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def panorama_jpeg(width: int = 8192, height: int = 4096, phase: float = 0.0) -> bytes:
    """A synthetic street-less panorama; ``phase`` makes a different image (a new upload)."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    lon = x / width * 2 * np.pi + phase
    lat = y / height * np.pi
    r = 128 + 100 * np.sin(lon * 3) * np.cos(lat * 2)
    g = 128 + 100 * np.cos(lon * 5 + lat)
    b = 128 + 90 * np.sin(lat * 7)
    grid = ((x % 256) < 4) | ((y % 256) < 4)
    rgb = np.stack([r, g, b], -1)
    rgb[grid] = 240
    buf = io.BytesIO()
    Image.fromarray(rgb.clip(0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


CLASSES = [("car", "#ff4d4f"), ("building", "#4c8dff"), ("tree", "#2fbf71"), ("sign", "#f5a524")]
SCHEMA = [
    {"name": "occluded", "type": "bool", "default": False},
    {"name": "state", "type": "enum", "options": ["parked", "moving", "unknown"]},
    {"name": "note", "type": "str"},
]


def run_upload_job(pano) -> None:
    """What a worker does after an upload: the panorama's 'thumbnail' job (thumbnail, preview
    and tiles), run in this process."""
    from inference.models import Job
    from inference.runner import execute

    job = Job.objects.filter(kind="thumbnail", panoramas=pano).latest("pk")
    assert execute(job.pk) == "succeeded", Job.objects.get(pk=job.pk).error


def seed(n_instances: int, n_vertices: int, attributes: bool = True) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import numpy as np
    from django.contrib.auth import get_user_model

    from annotations.models import Instance, LabelClass, Membership, Project
    from annotations.uploads import store_panorama

    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    project = Project.objects.create(name="Bench")
    Membership.objects.create(project=project, user=user, role="manager")
    classes = [
        LabelClass.objects.create(
            project=project, name=n, color=c, order=i, attribute_schema=SCHEMA if attributes else []
        )
        for i, (n, c) in enumerate(CLASSES)
    ]
    pano = store_panorama(project, "bench_8k.jpg", panorama_jpeg())
    rng = np.random.default_rng(0)
    items = []
    for k in range(n_instances):
        lon0 = rng.uniform(-180, 180)
        lat0 = rng.uniform(-70, 70)
        radius = rng.uniform(1.0, 4.0)
        angles = np.linspace(0, 2 * np.pi, n_vertices, endpoint=False)
        ring = [
            [
                float(((lon0 + radius * np.cos(a) / np.cos(np.radians(lat0)) + 180) % 360) - 180),
                float(lat0 + radius * np.sin(a)),
            ]
            for a in angles
        ]
        values = (
            {
                "occluded": bool(k % 3 == 0),
                "state": ["parked", "moving", "unknown"][k % 3],
                "note": f"object {k}",
            }
            if attributes
            else {}
        )
        items.append(
            Instance(
                panorama=pano,
                label_class=classes[k % 4],
                geometry=[[ring]],
                order=k,
                attributes=values,
            )
        )
    Instance.objects.bulk_create(items, batch_size=1000)
    pano.bump_revision()
    run_upload_job(pano)
    return pano.pk


def cold_uploads(pairs: int) -> list[tuple[str, int]]:
    """Fresh 8K uploads never opened: [("job", id) | ("on_demand", id)], alternating from
    "on_demand". "job": its upload job has run; "on_demand": it is still queued (no worker)."""
    from annotations.models import Project
    from annotations.uploads import store_panorama

    project = Project.objects.get(name="Bench")
    made = []
    for k in range(2 * pairs):
        kind = "on_demand" if k % 2 == 0 else "job"
        phase = (time.time() % 1000) + k  # a new image each run: uploads are deduplicated
        pano = store_panorama(project, f"cold_{k}.jpg", panorama_jpeg(phase=phase))
        if kind == "job":
            run_upload_job(pano)
        made.append((kind, pano.pk))
    return made


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--vertices", type=int, default=20)
    parser.add_argument(
        "--no-attributes", action="store_true", help="instances without attribute values"
    )
    parser.add_argument(
        "--cold", type=int, default=1, help="pairs of cold opens (after the job / on demand)"
    )
    parser.add_argument(
        "--baseline-js",
        help="another build's label360.js, served instead of the built one to a second browser "
        "context measured first in the same run (open, drag, heap): the same-run baseline",
    )
    parser.add_argument(
        "--data-dir",
        help="keep the seeded database and media here and reuse them on the next run "
        "(default: a new temporary directory)",
    )
    parser.add_argument("--opens-only", action="store_true", help="only time the first frames")
    args = parser.parse_args()
    if not (REPO / "static" / "dist" / "label360.js").exists():
        print("build the UI first: npm run --prefix frontend build", file=sys.stderr)
        return 2
    tmp = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="label360-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "label360.settings",
        "LABEL360_VAR_DIR": str(tmp),
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(tmp / "media"),
        "DEBUG": "1",
        # the upload jobs go to a broker of our own (no worker reads it: they run in-process)
        "CELERY_BROKER_URL": "filesystem://",
    }
    env.pop("CELERY_RESULT_BACKEND", None)
    os.environ.pop("CELERY_RESULT_BACKEND", None)
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    marker = tmp / "panorama_id"
    if marker.exists():
        import django

        django.setup()
        pano_id = int(marker.read_text())
    else:
        pano_id = seed(args.instances, args.vertices, not args.no_attributes)
        marker.write_text(str(pano_id))
    cold = cold_uploads(args.cold)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
            "--nothreading",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except Exception:
                time.sleep(0.2)
        results = run_browser(base, pano_id, cold, args.opens_only, args.baseline_js)
    finally:
        server.terminate()
        server.wait(10)
    print(json.dumps(results, indent=2))
    print(summary(results))
    return 0


def heap_mb(cdp) -> float:
    """Used JS heap after a full garbage collection (MB)."""
    cdp.send("HeapProfiler.collectGarbage")
    return round(cdp.send("Runtime.getHeapUsage")["usedSize"] / 1e6, 1)


def p95(values: list[float]) -> float | None:
    return round(sorted(values)[int(0.95 * (len(values) - 1))], 2) if values else None


TILES_DONE = (
    "window.label360.state().tilesLoaded >= window.label360.workspace.pano.tiles.cols"
    " * window.label360.workspace.pano.tiles.rows"
)


def open_cold(context, base: str, pano_id: int) -> dict:
    """Open a never-opened panorama in a new tab; its first frame, the preview request, and
    the time until its full-resolution tiles are in."""
    page = context.new_page()
    page.set_default_timeout(120000)
    page.goto(f"{base}/panoramas/{pano_id}/")
    page.wait_for_function("document.body.dataset.firstFrame === '1'")
    first = page.evaluate("window.label360.state().firstFrameMs")
    preview = page.evaluate("""() => performance.getEntriesByType('resource')
        .filter((e) => e.name.includes('/display/'))
        .map((e) => [e.startTime, e.responseEnd])[0] || null""")
    requests = page.evaluate("""() => performance.getEntriesByType('resource')
        .filter((e) => e.startTime < window.label360.state().firstFrameMs + 50)
        .map((e) => `${e.name.replace(location.origin, '')} ${e.startTime.toFixed(0)}-${e.responseEnd.toFixed(0)}`)""")
    marks = page.evaluate("window.label360.state().marks")
    page.wait_for_function(TILES_DONE, timeout=120000)
    tiles = page.evaluate("performance.now()")
    page.close()
    return {
        "first_frame_ms": round(first, 1),
        "preview_request_ms": round(preview[1] - preview[0], 1) if preview else None,
        "tiles_in_ms": round(tiles, 1),
        "requests": requests,
        "marks": {k: round(v, 1) for k, v in marks.items()},
    }


def signed_in_context(browser, base: str, bundle: str | None):
    """A browser context signed in as the bench user; ``bundle``: serve this label360.js
    instead of the built one (a baseline build measured in the same run)."""
    # bypass_csp: Playwright's wait_for_function evaluates strings, which the app's CSP forbids
    context = browser.new_context(viewport={"width": 1600, "height": 900}, bypass_csp=True)
    if bundle:
        context.route(
            "**/static/dist/label360.js",
            lambda route: route.fulfill(path=bundle, content_type="text/javascript"),
        )
    page = context.new_page()
    page.set_default_timeout(60000)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "bench")
    page.fill("#id_password", "bench-password-1")
    page.click("#login-submit")
    page.wait_for_url(f"{base}/")
    return context, page


def open_workspace(page, base: str, pano_id: int, label: str, out: dict) -> None:
    """Open the benchmark panorama; its first frames, load marks and requests."""
    page.goto(f"{base}/panoramas/{pano_id}/")
    page.wait_for_function("document.body.dataset.firstFrame === '1'")
    out[f"first_frame_presented_ms_{label}"] = round(
        page.wait_for_function("window.label360.state().firstFramePresentedMs").json_value(), 1
    )
    nav = page.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0];
        return {unload: n.unloadEventEnd, fetch: n.fetchStart, request: n.requestStart,
                response: n.responseEnd, domInteractive: n.domInteractive}; }""")
    out[f"navigation_{label}"] = {k: round(v, 1) for k, v in nav.items()}
    page.wait_for_function("document.body.dataset.ready === '1'")
    out[f"ready_ms_{label}"] = round(page.evaluate("window.label360.state().marks.dataLoaded"), 1)
    try:  # builds from before the mark existed have no "instances drawn" figure
        overlay = page.wait_for_function(
            "window.label360.state().marks.overlayDrawn", timeout=20000
        ).json_value()
        out[f"overlay_ms_{label}"] = round(overlay, 1)
    except Exception:
        out[f"overlay_ms_{label}"] = None
    out[f"first_frame_ms_{label}"] = round(page.evaluate("window.label360.state().firstFrameMs"), 1)
    out[f"marks_{label}"] = {
        k: round(v, 1) for k, v in page.evaluate("window.label360.state().marks").items()
    }
    out[f"requests_{label}"] = page.evaluate("""() => performance.getEntriesByType('resource')
        .filter((e) => e.startTime < window.label360.state().firstFrameMs + 50)
        .map((e) => `${e.name.replace(location.origin, '')} ${e.startTime.toFixed(0)}-${e.responseEnd.toFixed(0)}`)""")
    # a user opens the next panorama after working on this one: let its tiles finish first
    # (navigating away during a 4096² texture upload waits for that upload)
    page.wait_for_function(TILES_DONE, timeout=120000)


def run_browser(
    base: str, pano_id: int, cold: list, opens_only: bool = False, baseline: str | None = None
) -> dict:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    out: dict = {"load_average": [round(x, 2) for x in os.getloadavg()]}
    if baseline:  # the baseline build first: one open, the drag, the heap
        base_out: dict = {}
        context, page = signed_in_context(browser, base, baseline)
        open_workspace(page, base, pano_id, "first_open", base_out)
        cdp = context.new_cdp_session(page)
        base_out["js_heap_mb_loaded"] = heap_mb(cdp)
        if not opens_only:
            drag(page, base_out)
            base_out["js_heap_mb_after_drag"] = heap_mb(cdp)
        context.close()
        out["baseline"] = base_out
    context, page = signed_in_context(browser, base, None)
    for label in ("first_open", "second_open"):
        open_workspace(page, base, pano_id, label, out)
    cdp = context.new_cdp_session(page)
    out["js_heap_mb_loaded"] = heap_mb(cdp)
    if not opens_only:
        drag(page, out)
        out["js_heap_mb_after_drag"] = heap_mb(cdp)
        page.screenshot(path=str(REPO / "var" / "bench_workspace.png"))
        save(page, out)
    # cold opens in new tabs, the benchmark page closed first (its teardown is not timed)
    page.close()
    for kind, cold_id in cold:
        out.setdefault(f"cold_{kind}", []).append(open_cold(context, base, cold_id))
    out["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    browser.close()
    pw.stop()
    return out


def drag(page, out: dict) -> None:
    """Drag the camera (pan tool) 40 mouse moves; JS time per frame and frame intervals."""
    page.evaluate("window.label360.setCamera({yaw: 0, pitch: 0, hfov: 90})")
    page.wait_for_timeout(300)
    page.evaluate("""() => {
        window.__intervals = []; let last = performance.now();
        const tick = (t) => { window.__intervals.push(t - last); last = t; if (window.__intervals.length < 100000) requestAnimationFrame(tick); };
        requestAnimationFrame(tick);
    }""")
    page.keyboard.press("v")
    box = page.locator("#draw-canvas").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    before = len(page.evaluate("window.label360.frameTimes()"))
    page.evaluate("window.__intervals = []")
    page.mouse.move(cx, cy)
    page.mouse.down(button="left")
    steps = 40
    for k in range(steps):
        page.mouse.move(cx - 400 * (k / steps) + 200, cy + 60 * ((k % 30) / 30.0 - 0.5))
    page.mouse.up()
    page.wait_for_timeout(200)
    times = page.evaluate("window.label360.frameTimes()")[before:]
    intervals = page.evaluate("window.__intervals")
    out["instances"] = page.evaluate("window.label360.workspace.store.instances.length")
    out["frames_during_drag"] = len(times)
    out["frame_time_ms_median"] = round(statistics.median(times), 2) if times else None
    out["frame_time_ms_p95"] = p95(times)
    out["frame_time_ms_max"] = round(max(times), 2) if times else None
    out["frame_interval_ms_median"] = round(statistics.median(intervals), 2) if intervals else None
    # the same JS work without the browser's frame pacing: 100 camera steps in a loop (overlay,
    # HUD, equirect viewer); the minimum is what it costs when the CPU is not taken away
    loop = page.evaluate("""() => {
        const ws = window.label360.workspace, times = [];
        for (let k = 0; k < 100; k++) {
            ws.camera.setLook(k * 0.7, 4 * Math.sin(k / 9));
            const view = ws.view(), t = performance.now();
            ws.drawOverlay(view); ws.drawHud(view);
            ws.equirect.draw(ws.store.instances, ws.classes.colors(), ws.store.hidden,
                             ws.store.selected, view, null);
            times.push(performance.now() - t);
        }
        return times; }""")
    out["loop_ms_min"] = round(min(loop), 2)
    out["loop_ms_median"] = round(statistics.median(loop), 2)
    out["loop_ms_p95"] = p95(loop)


def save(page, out: dict) -> None:
    """One edit, then a bulk PUT of all instances (revision-checked, validated server-side)."""
    save_ms = []
    for k in range(3):
        ms = page.evaluate(f"""async () => {{
            const ws = window.label360.workspace; ws.saver.delayMs = 1e9;
            const inst = ws.store.instances[{k}];
            ws.store.update(inst.uid, {{label_class: ws.classes.classes[{k + 1}].id}});
            const t = performance.now(); await ws.saver.save(); return performance.now() - t; }}""")
        assert page.evaluate("window.label360.state().save") == "saved"
        save_ms.append(ms)
    out["save_ms_median"] = round(statistics.median(save_ms), 1)


def summary(out: dict) -> str:
    """The figures the README quotes, one per line."""
    lines = [f"load average at start: {out['load_average']}"]
    for label in ("first_open", "second_open"):
        lines.append(
            f"{label}: first frame {out[f'first_frame_ms_{label}']:.0f} ms, instances in "
            f"{out[f'ready_ms_{label}']:.0f} ms, drawn {out[f'overlay_ms_{label}']} ms"
        )
    lines.append(f"JS heap: {out['js_heap_mb_loaded']} MB loaded")
    if "frame_time_ms_p95" in out:
        lines.append(
            f"drag ({out['instances']} instances): JS per frame median "
            f"{out['frame_time_ms_median']} ms, p95 {out['frame_time_ms_p95']} ms; heap after "
            f"{out['js_heap_mb_after_drag']} MB; save {out['save_ms_median']} ms"
        )
    b = out.get("baseline")
    if b and "frame_time_ms_p95" in b and "frame_time_ms_p95" in out:
        lines.append(
            f"baseline build, same run: first frame {b['first_frame_ms_first_open']:.0f} ms, "
            f"instances in {b['ready_ms_first_open']:.0f} ms; JS per frame median "
            f"{b['frame_time_ms_median']} ms, p95 {b['frame_time_ms_p95']} ms; heap "
            f"{b['js_heap_mb_loaded']} MB → p95 {b['frame_time_ms_p95'] / out['frame_time_ms_p95']:.1f}×, "
            f"median {b['frame_time_ms_median'] / out['frame_time_ms_median']:.1f}× lower now"
        )
        lines.append(
            f"camera steps in a loop (overlay + HUD + equirect), min / median / p95: now "
            f"{out['loop_ms_min']} / {out['loop_ms_median']} / {out['loop_ms_p95']} ms, baseline "
            f"{b['loop_ms_min']} / {b['loop_ms_median']} / {b['loop_ms_p95']} ms"
        )
    lines.append(f"load average at end: {out.get('load_average_end')}")
    job = [c["first_frame_ms"] for c in out.get("cold_job", [])]
    demand = [c["first_frame_ms"] for c in out.get("cold_on_demand", [])]
    if job and demand:
        ratio = statistics.median(demand) / statistics.median(job)
        lines.append(
            f"cold 8K upload, first frame: after its job {job} ms, on demand (same run) "
            f"{demand} ms: {ratio:.1f}× faster"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
