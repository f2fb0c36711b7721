"""Benchmark of the COCO RLE export (a script, not a test).

Creates its own PostgreSQL database (from DATABASE_URL's server), inserts a synthetic
project — N panoramas of W×W/2 with 50 spherical polygons each (random star-shaped
polygons, some across the seam; no image files: an export without images never reads
them) — with bulk_create, then exports it to COCO RLE in a fresh process (as
``manage.py export_dataset`` runs it), and prints instances/s and that process's peak RSS
(and its workers'). In the same run it measures the naive path (a full mask per instance +
``pycocotools.mask.encode``) on a sample and prints the ratio. Drops its database at the end.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/label360 \
        .venv/bin/python bench/export.py [--panoramas 200] [--workers 2] [--width 4096]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from memory import children_peak_rss_mib, peak_rss_mib

ROOT = Path(__file__).resolve().parents[1]
PER_PANORAMA = 50


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panoramas", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--width", type=int, default=4096, help="panorama width (height W/2)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)  # project id to export
    parser.add_argument(
        "--naive-sample", type=int, default=200, help="instances for the naive path"
    )
    args = parser.parse_args()

    if args.child is not None:  # the export process: DATABASE_URL names the scratch database
        export_child(args)
        return
    from pgdb import scratch_database

    with scratch_database("label360_bench_export"):
        run(args)


def export_child(args) -> None:
    """Export the project in this (fresh) process; print the figures as one JSON line."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label360.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from annotations.models import Project
    from datasets.exporters.run import write_export
    from datasets.selection import ExportOptions

    project = Project.objects.get(pk=args.child)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coco.zip"
        t = time.perf_counter()
        summary = write_export(
            project, ExportOptions.from_dict({"format": "coco"}), out, workers=args.workers
        )
        elapsed = time.perf_counter() - t
        size = out.stat().st_size
    own, children = peak_rss_mib(), children_peak_rss_mib()
    figures = {"annotations": summary["annotations"], "seconds": elapsed, "zip_bytes": size}
    print(json.dumps({**figures, "rss_mb": own, "worker_rss_mb": children}))


def run(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from annotations.models import Instance, LabelClass, Panorama, Project
    from datasets import geom

    rng = np.random.default_rng(0)
    width, height = args.width, args.width // 2
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
                width=width,
                height=height,
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

    child = subprocess.run(
        [sys.executable, __file__, "--child", str(project.pk), "--workers", str(args.workers)],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    rate = result["annotations"] / result["seconds"]
    print(
        f"fast path: {result['annotations']} instances in {result['seconds']:.2f} s = "
        f"{rate:.0f} instances/s at {width}x{height} (workers={args.workers}), "
        f"zip {result['zip_bytes'] / 1e6:.1f} MB"
    )
    print(
        f"peak RSS of the export process {result['rss_mb']:.0f} MB, largest worker "
        f"{result['worker_rss_mb']:.0f} MB (load average {os.getloadavg()[0]:.1f})"
    )

    from pycocotools import mask as mask_utils

    sample = list(
        Instance.objects.filter(panorama__project=project).values_list("geometry", flat=True)[
            : args.naive_sample
        ]
    )
    t2 = time.perf_counter()
    for g in sample:
        m = geom.rasterize(g, width, height)
        mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        geom.area(g)
    naive = len(sample) / (time.perf_counter() - t2)
    t3 = time.perf_counter()
    from datasets.exporters.coco import encode_geometry

    for g in sample:
        encode_geometry(g, width, height)
    fast_single = len(sample) / (time.perf_counter() - t3)
    print(f"naive path (full mask + pycocotools.mask.encode, 1 process): {naive:.0f} instances/s")
    print(
        f"fast path, same sample, 1 process: {fast_single:.0f} instances/s "
        f"= {fast_single / naive:.1f}x naive; full export vs naive: {rate / naive:.1f}x"
    )


if __name__ == "__main__":
    main()
