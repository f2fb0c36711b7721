"""Benchmark of the COCO RLE export (a script, not a test).

Creates its own PostgreSQL database (from DATABASE_URL's server), inserts a synthetic
project — N panoramas of 4096×2048 with 50 spherical polygons each (random star-shaped
polygons, some across the seam; no image files: an export without images never reads
them) — with bulk_create, exports it to COCO RLE and prints instances/s and peak RSS,
then measures the naive path (full mask per instance + pycocotools.mask.encode) on a
sample in the same run and prints the ratio. Drops its database at the end.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/label360 \
        .venv/bin/python bench/export.py [--panoramas 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT, PER_PANORAMA = 4096, 2048, 50


def star_polygon(rng: np.random.Generator) -> list:
    """A random valid star-shaped spherical polygon (redrawn until the core accepts it)."""
    from label360.sphere.polygons import geometry_problems

    while True:
        g = _star(rng)
        if not geometry_problems(g):
            return g


def _star(rng: np.random.Generator) -> list:
    lon0, lat0 = rng.uniform(-180, 180), rng.uniform(-60, 60)
    radius, n = rng.uniform(1, 15), int(rng.integers(8, 24))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = radius * rng.uniform(0.6, 1.0, n)
    lon = lon0 + r * np.cos(angles) / np.cos(np.radians(lat0))
    lat = lat0 + r * np.sin(angles)
    lon = (lon + 180.0) % 360.0 - 180.0
    return [[[[float(x), float(y)] for x, y in zip(lon, lat, strict=True)]]]


def peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panoramas", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--naive-sample", type=int, default=200, help="instances for the naive path"
    )
    args = parser.parse_args()

    import dj_database_url
    import psycopg

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/label360")
    cfg = dj_database_url.parse(base)
    name = f"label360_bench_{os.getpid()}"
    admin_dsn = f"host={cfg['HOST']} port={cfg['PORT'] or 5432} user={cfg['USER']} dbname=postgres"
    if cfg.get("PASSWORD"):
        admin_dsn += f" password={cfg['PASSWORD']}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label360.settings")
    sys.path.insert(0, str(ROOT))
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from annotations.models import Instance, LabelClass, Panorama, Project
    from datasets import geom
    from datasets.exporters.run import write_export
    from datasets.selection import ExportOptions

    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    project = Project.objects.create(name="bench")
    classes = [
        LabelClass.objects.create(project=project, name=f"class{k}", order=k) for k in range(5)
    ]
    panos = Panorama.objects.bulk_create(
        [
            Panorama(
                project=project,
                image=f"bench/{k}.jpg",
                file_format="jpeg",
                width=WIDTH,
                height=HEIGHT,
                sha256=f"{k:064x}",
                original_name=f"pano_{k}.jpg",
                status="approved",
            )
            for k in range(args.panoramas)
        ],
        batch_size=1000,
    )
    batch: list[Instance] = []
    for pano in panos:
        for k in range(PER_PANORAMA):
            batch.append(
                Instance(
                    panorama=pano, label_class=classes[k % 5], geometry=star_polygon(rng), order=k
                )
            )
        if len(batch) >= 10000:
            Instance.objects.bulk_create(batch, batch_size=5000)
            batch = []
    Instance.objects.bulk_create(batch, batch_size=5000)
    total = Instance.objects.filter(panorama__project=project).count()
    print(
        f"inserted {args.panoramas} panoramas, {total} instances in {time.perf_counter() - t0:.1f} s"
    )

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coco.zip"
        t1 = time.perf_counter()
        summary = write_export(
            project, ExportOptions.from_dict({"format": "coco"}), out, workers=args.workers
        )
        elapsed = time.perf_counter() - t1
        size = out.stat().st_size
    own, children = peak_rss_mb()
    rate = summary["annotations"] / elapsed
    print(
        f"fast path: {summary['annotations']} instances in {elapsed:.1f} s = {rate:.0f} instances/s "
        f"(workers={args.workers}), zip {size / 1e6:.1f} MB"
    )
    print(f"peak RSS: main process {own:.0f} MB, largest worker {children:.0f} MB")

    from pycocotools import mask as mask_utils

    sample = list(
        Instance.objects.filter(panorama__project=project).values_list("geometry", flat=True)[
            : args.naive_sample
        ]
    )
    t2 = time.perf_counter()
    for g in sample:
        m = geom.rasterize(g, WIDTH, HEIGHT)
        mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        geom.area(g)
    naive = len(sample) / (time.perf_counter() - t2)
    t3 = time.perf_counter()
    from datasets.exporters.coco import encode_geometry

    for g in sample:
        encode_geometry(g, WIDTH, HEIGHT)
    fast_single = len(sample) / (time.perf_counter() - t3)
    print(f"naive path (full mask + pycocotools.mask.encode, 1 process): {naive:.0f} instances/s")
    print(
        f"fast path, same sample, 1 process: {fast_single:.0f} instances/s "
        f"= {fast_single / naive:.1f}x naive; full export vs naive: {rate / naive:.1f}x"
    )


if __name__ == "__main__":
    main()
