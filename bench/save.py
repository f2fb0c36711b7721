"""Benchmark of autosave on a large panorama (a script, not a test).

Creates its own PostgreSQL database (on DATABASE_URL's server), seeds one panorama with N
instances (default 5,000 polygons of 20 vertices) and measures the server time of saving
one edit through the whole Django/DRF request stack (in process: routing, authentication,
parsing, validation, the revision-checked transaction, the response), the request body
prepared beforehand:

* baseline — the bulk PUT of the whole set with one instance changed (what autosave sent
  before partial saves);
* PATCH of one instance whose class changed; of one instance whose vertex moved (its
  geometry is validated); of one added and one deleted instance.

Rounds are interleaved (PUT, then each PATCH) so that load on the machine hits every row
alike; prints medians, ratios to the baseline and the number of SQL queries per request.
Drops its database at the end.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/label360 \
        .venv/bin/python bench/save.py [--instances 5000] [--vertices 20] [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

GOAL_MS = 50.0


def ring(rng, n_vertices: int) -> list:
    import numpy as np

    lon0, lat0 = rng.uniform(-180, 180), rng.uniform(-70, 70)
    radius = rng.uniform(1.0, 4.0)
    angles = np.linspace(0, 2 * np.pi, n_vertices, endpoint=False)
    return [
        [
            float(((lon0 + radius * np.cos(a) / np.cos(np.radians(lat0)) + 180) % 360) - 180),
            float(lat0 + radius * np.sin(a)),
        ]
        for a in angles
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--vertices", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=0,
        help="DB_CONN_MAX_AGE for the run (0, the default setting: a new connection per request)",
    )
    args = parser.parse_args()

    from pgdb import scratch_database

    # production-like request handling: no debug query log, quiet 4xx logging
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["SECURE_SSL_REDIRECT"] = "0"  # requests are made in process, without TLS
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ["DB_CONN_MAX_AGE"] = str(args.conn_max_age)
    with scratch_database("label360_bench_save", require_url=True):
        run(args)


def run(args) -> None:
    import django

    django.setup()
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from annotations.models import Instance, LabelClass, Membership, Panorama, Project

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    project = Project.objects.create(name="Bench")
    Membership.objects.create(project=project, user=user, role="annotator")
    classes = [
        LabelClass.objects.create(project=project, name=n, order=k)
        for k, n in enumerate(["car", "building", "tree", "sign"])
    ]
    pano = Panorama.objects.create(
        project=project,
        image="bench/none.jpg",
        file_format="jpeg",
        width=8192,
        height=4096,
        sha256="0" * 64,
        original_name="bench.jpg",
        status="in_progress",
    )
    pano.assignees.add(user)
    rng = np.random.default_rng(0)
    Instance.objects.bulk_create(
        [
            Instance(
                panorama=pano,
                label_class=classes[k % 4],
                geometry=[[ring(rng, args.vertices)]],
                order=k,
            )
            for k in range(args.instances)
        ],
        batch_size=2000,
    )
    client = APIClient()
    client.force_authenticate(user)
    url = f"/api/panoramas/{pano.pk}/instances/"
    listed = client.get(url).json()
    items = [{k: v for k, v in i.items() if k in ITEM_FIELDS} for i in listed["instances"]]
    state = {"revision": listed["revision"], "items": items}
    print(
        f"{args.instances} instances × {args.vertices} vertices on PostgreSQL; "
        f"{args.rounds} interleaved rounds; DB_CONN_MAX_AGE={args.conn_max_age}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )

    def send(method: str, body: dict) -> tuple[float, int, dict]:
        data = json.dumps({**body, "revision": state["revision"]}).encode()
        with CaptureQueriesContext(connection) as queries:
            t = time.perf_counter()
            response = client.generic(method, url, data, content_type="application/json")
            ms = (time.perf_counter() - t) * 1000
        assert response.status_code == 200, (method, response.status_code, response.content[:300])
        answer = response.json()
        state["revision"] = answer["revision"]
        return ms, len(queries), answer

    def bulk_put(k: int):
        target = state["items"][k % len(state["items"])]
        target["label_class"] = classes[(k + 1) % 4].pk
        return send("PUT", {"instances": state["items"]})

    def patch_class(k: int):
        target = state["items"][(k * 7) % len(state["items"])]
        target["label_class"] = classes[(k + 2) % 4].pk
        return send("PATCH", {"upsert": [target]})

    def patch_vertex(k: int):
        target = state["items"][(k * 13) % len(state["items"])]
        lon, lat = target["geometry"][0][0][0]
        target["geometry"] = [
            [[[lon, lat + 0.01 * (1 if k % 2 else -1)], *target["geometry"][0][0][1:]]]
        ]
        return send("PATCH", {"upsert": [target]})

    def patch_add_delete(k: int):
        # the last one goes and the new one comes last: the others keep their order, so the
        # next bulk PUT changes only what it means to change (order is the list position)
        gone = state["items"].pop()
        new = {"label_class": classes[k % 4].pk, "geometry": [[ring(rng, args.vertices)]]}
        ms, n, answer = send("PATCH", {"upsert": [new], "delete": [gone["id"]]})
        state["items"].append({**new, "id": answer["instances"][0]["id"]})
        return ms, n, answer

    rows = {
        "bulk PUT, one changed (baseline)": bulk_put,
        "PATCH one class change": patch_class,
        "PATCH one vertex move": patch_vertex,
        "PATCH one added + one deleted": patch_add_delete,
    }
    times: dict[str, list[float]] = {name: [] for name in rows}
    queries: dict[str, int] = {}
    for fn in rows.values():  # warm-up (caches, first-query costs)
        fn(0)
    for k in range(1, args.rounds + 1):
        for name, fn in rows.items():
            ms, n, _ = fn(k)
            times[name].append(ms)
            queries[name] = n
    assert Instance.objects.filter(panorama=pano).count() == args.instances
    baseline = statistics.median(times["bulk PUT, one changed (baseline)"])
    print(f"{'request':36s} {'median ms':>10s} {'p90 ms':>8s} {'queries':>8s} {'× baseline':>11s}")
    for name, values in times.items():
        median = statistics.median(values)
        p90 = sorted(values)[int(0.9 * (len(values) - 1))]
        print(f"{name:36s} {median:10.1f} {p90:8.1f} {queries[name]:8d} {median / baseline:11.3f}")
    worst = max(statistics.median(v) for n, v in times.items() if n.startswith("PATCH"))
    verdict = "meets" if worst <= GOAL_MS else "misses"
    print(
        f"slowest one-instance PATCH median: {worst:.1f} ms ({verdict} the {GOAL_MS:.0f} ms goal)"
    )


ITEM_FIELDS = {
    "id",
    "label_class",
    "geometry",
    "source",
    "is_suggestion",
    "score",
    "model_version",
    "attributes",
}


if __name__ == "__main__":
    main()
