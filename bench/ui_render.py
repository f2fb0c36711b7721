"""Benchmark of the annotation UI (a script, not a test).

Starts the Django dev server against a throwaway SQLite database, creates an 8192×4096 panorama
with 500 instances (10,000 vertices), opens the workspace in headless Chromium (SwiftShader
WebGL) and prints: time to first frame after opening (from navigation start; derived images
precomputed as the upload job does; first and second open), the median frame time while dragging the camera (JS time per rendered
frame: WebGL draw submission + overlay + equirect viewer) and the median interval between
frames, and the time of a bulk save of all 500 instances.

    .venv/bin/python bench/ui_render.py [--instances 500] [--vertices 20]
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


def panorama_jpeg(width: int = 8192, height: int = 4096) -> bytes:
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    lon = x / width * 2 * np.pi
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


def seed(n_instances: int, n_vertices: int) -> int:
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
        LabelClass.objects.create(project=project, name=n, color=c, order=i)
        for i, (n, c) in enumerate(
            [("car", "#ff4d4f"), ("building", "#4c8dff"), ("tree", "#2fbf71"), ("sign", "#f5a524")]
        )
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
        items.append(
            Instance(panorama=pano, label_class=classes[k % 4], geometry=[[ring]], order=k)
        )
    Instance.objects.bulk_create(items)
    pano.bump_revision()
    # what the upload's background job precomputes in production: thumbnail, preview, tiles
    from annotations import imaging

    imaging.thumbnail(pano)
    imaging.display_image(pano, 2048)
    cols, rows = imaging.tile_grid(pano)
    for c in range(cols):
        for r in range(rows):
            imaging.display_tile(pano, c, r)
    return pano.pk


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--vertices", type=int, default=20)
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
    }
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    marker = tmp / "panorama_id"
    if marker.exists():
        import django

        django.setup()
        pano_id = int(marker.read_text())
    else:
        pano_id = seed(args.instances, args.vertices)
        marker.write_text(str(pano_id))
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
        results = run_browser(base, pano_id, args.opens_only)
    finally:
        server.terminate()
        server.wait(10)
    print(json.dumps(results, indent=2))
    return 0


def run_browser(base: str, pano_id: int, opens_only: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60000)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "bench")
    page.fill("#id_password", "bench-password-1")
    page.click("#login-submit")
    page.wait_for_url(f"{base}/")
    out: dict = {}
    for label in ("first_open", "second_open"):
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
        out[f"ready_ms_{label}"] = round(
            page.evaluate("window.label360.state().marks.dataLoaded"), 1
        )
        out[f"first_frame_ms_{label}"] = round(
            page.evaluate("window.label360.state().firstFrameMs"), 1
        )
        out[f"marks_{label}"] = {
            k: round(v, 1) for k, v in page.evaluate("window.label360.state().marks").items()
        }
        out[f"requests_{label}"] = page.evaluate("""() => performance.getEntriesByType('resource')
            .filter((e) => e.startTime < window.label360.state().firstFrameMs + 50)
            .map((e) => `${e.name.replace(location.origin, '')} ${e.startTime.toFixed(0)}-${e.responseEnd.toFixed(0)}`)""")
        # a user opens the next panorama after working on this one: let its tiles finish first
        # (navigating away during a 4096² texture upload waits for that upload)
        page.wait_for_function(
            "window.label360.state().tilesLoaded >= window.label360.workspace.pano.tiles.cols"
            " * window.label360.workspace.pano.tiles.rows",
            timeout=120000,
        )
    if opens_only:
        browser.close()
        pw.stop()
        return out
    # wait for the full-resolution tiles, then drag the camera
    page.wait_for_function("window.label360.state().tilesLoaded >= 2", timeout=120000)
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
    steps = 60
    for k in range(steps):
        page.mouse.move(cx - 400 * (k / steps) + 200, cy + 60 * ((k % 30) / 30.0 - 0.5))
    page.mouse.up()
    page.wait_for_timeout(200)
    times = page.evaluate("window.label360.frameTimes()")[before:]
    intervals = page.evaluate("window.__intervals")
    visible = page.evaluate("window.label360.workspace.store.instances.length")
    out["instances"] = visible
    out["frames_during_drag"] = len(times)
    out["frame_time_ms_median"] = round(statistics.median(times), 2) if times else None
    out["frame_time_ms_p95"] = (
        round(sorted(times)[int(0.95 * (len(times) - 1))], 2) if times else None
    )
    out["frame_interval_ms_median"] = round(statistics.median(intervals), 2) if intervals else None
    # save: one edit, then a bulk PUT of all instances (revision-checked, validated server-side)
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
    page.screenshot(path=str(REPO / "var" / "bench_workspace.png"))
    browser.close()
    pw.stop()
    return out


if __name__ == "__main__":
    raise SystemExit(main())
