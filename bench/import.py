"""Benchmark of the COCO import (a script, not a test): direct conversion against tracing.

Creates its own PostgreSQL database (from DATABASE_URL's server) with a project of N
panoramas of 4096×2048 (rows only; the COCO file names them, so no image is read), writes a
COCO file of seeded random objects in pixel space — star polygons of 8–16 vertices, a few
across the image's left/right edges (two polygons each) and caps over a pole — and imports it
twice through ``import_coco`` (polygons; then the same objects as compressed RLE). Prints
instances/s (wall and CPU), peak RSS, vertices per instance against the source and the parts
of seam/pole objects. In the same run, the path imports used before — every polygon decoded
to a full-image mask with pycocotools and traced with ``mask_to_geometry`` — converts a
sample, and the ratio is printed. Drops its database at the end.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/label360 \\
        .venv/bin/python bench/import.py [--panoramas 25] [--per-panorama 20]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
from memory import peak_rss_mib

WIDTH, HEIGHT = 4096, 2048


def star(rng: np.random.Generator) -> list[float]:
    n = int(rng.integers(8, 17))
    cx, cy = rng.uniform(200, WIDTH - 200), rng.uniform(300, HEIGHT - 300)
    r = rng.uniform(20, 150)
    t = np.sort(rng.uniform(0, 2 * math.pi, n))
    rr = r * rng.uniform(0.6, 1.0, n)
    return np.stack([cx + rr * np.cos(t), cy + 0.7 * rr * np.sin(t)], axis=1).ravel().tolist()


def seam_object(rng: np.random.Generator) -> list[list[float]]:
    y0 = rng.uniform(400, HEIGHT - 600)
    h = rng.uniform(40, 200)
    a, b = rng.uniform(20, 120), rng.uniform(20, 120)
    left = [0.0, y0, a, y0 + 10, a, y0 + h, 0.0, y0 + h]
    right = [WIDTH - b, y0 + 5, float(WIDTH), y0, float(WIDTH), y0 + h, WIDTH - b, y0 + h - 5]
    return [left, right]


def pole_cap(rng: np.random.Generator) -> list[float]:
    depth = rng.uniform(60, 250)
    n = 32
    xs = np.linspace(WIDTH, 0, n)
    ys = depth + 20 * np.sin(np.linspace(0, 4 * math.pi, n))
    return [0.0, 0.0, float(WIDTH), 0.0, *np.stack([xs, ys], axis=1).ravel().tolist()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panoramas", type=int, default=25)
    parser.add_argument("--per-panorama", type=int, default=20)
    parser.add_argument("--baseline-sample", type=int, default=40)
    args = parser.parse_args()

    from pgdb import scratch_database

    with scratch_database("label360_bench_import"):
        run(args)


def build(args, project) -> tuple[dict, dict]:
    """(COCO with polygons, the same objects as compressed RLE) and the kinds of objects."""
    from annotations.models import Panorama
    from datasets import geom
    from datasets.importers.pixels import segmentation_geometry
    from datasets.rle import runs_to_rle

    rng = np.random.default_rng(0)
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
            )
            for k in range(args.panoramas)
        ]
    )
    images, polys, rles = [], [], []
    for pano in panos:
        images.append(
            {"id": pano.pk, "file_name": pano.original_name, "width": WIDTH, "height": HEIGHT}
        )
        for k in range(args.per_panorama):
            kind = "seam" if k % 10 == 1 else "pole" if k % 10 == 2 and k < 10 else "star"
            if kind == "seam":
                seg = seam_object(rng)
            elif kind == "pole":
                seg = [pole_cap(rng)]
            else:
                seg = [star(rng)]
            ann = {"image_id": pano.pk, "category_id": 1, "iscrowd": 0, "kind": kind}
            polys.append({**ann, "id": len(polys) + 1, "segmentation": seg})
            g, _ = segmentation_geometry(seg, WIDTH, HEIGHT)
            rle = runs_to_rle(geom.runs(g, WIDTH, HEIGHT), HEIGHT, WIDTH)
            rles.append({**ann, "id": len(rles) + 1, "segmentation": rle})
    cats = [{"id": 1, "name": "thing"}]
    return (
        {"images": images, "annotations": polys, "categories": cats},
        {"images": images, "annotations": rles, "categories": cats},
    )


def timed_import(project, data: dict, tmp: Path, label: str):
    from datasets.importers.coco import import_coco

    path = tmp / f"{label}.json"
    path.write_text(json.dumps(data))
    wall, cpu = time.perf_counter(), time.process_time()
    report = import_coco(project, str(path))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert report.committed, report.error
    return report, wall, cpu


def traced_baseline(segmentation, width: int, height: int) -> list:
    """The conversion imports used before: the whole image's mask, then tracing."""
    from pycocotools import mask as mask_utils

    from datasets import geom
    from datasets.importers.common import check_geometry

    mask = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width)))
    geometry = geom.sphere().mask_to_geometry(mask.astype(bool), 0.05)
    valid, problem = check_geometry(geometry)
    assert problem is None, problem
    return valid


def run(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from annotations.models import Instance, Project
    from label360.sphere.kernels import compile_kernels

    compile_kernels()
    project = Project.objects.create(name="bench")
    poly_coco, rle_coco = build(args, project)
    total = len(poly_coco["annotations"])
    source_vertices = sum(len(p) // 2 for a in poly_coco["annotations"] for p in a["segmentation"])
    kinds = [a["kind"] for a in poly_coco["annotations"]]
    print(
        f"{args.panoramas} panoramas {WIDTH}×{HEIGHT}, {total} objects "
        f"({kinds.count('seam')} across the seam, {kinds.count('pole')} over a pole)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = {}
        for label, data in (("polygons", poly_coco), ("rle", rle_coco)):
            report, wall, cpu = timed_import(project, data, tmp, label)
            inst = list(
                Instance.objects.filter(panorama__project=project).order_by("panorama_id", "order")
            )
            vertices = sum(len(r) for i in inst for part in i.geometry for r in part)
            parts = {k: [] for k in ("seam", "pole", "star")}
            for kind, i in zip(kinds, inst, strict=True):
                parts[kind].append(len(i.geometry))
            rows[label] = (report, wall, cpu, vertices, parts)
            print(
                f"{label:>9}: {report.instances_created} instances in {wall:.2f} s wall = "
                f"{report.instances_created / wall:.0f}/s ({report.instances_created / cpu:.0f}/s "
                f"of CPU), converted {report.converted}, {vertices / total:.1f} vertices/instance"
                f" (source {source_vertices / total:.1f}: {vertices / source_vertices:.2f}x); "
                f"parts: seam objects {max(parts['seam'])} max, pole objects "
                f"{max(parts['pole'], default=0)} max; peak RSS {peak_rss_mib():.0f} MB"
            )
    sample = poly_coco["annotations"][: args.baseline_sample]
    wall, cpu = time.perf_counter(), time.process_time()
    traced = [traced_baseline(a["segmentation"], WIDTH, HEIGHT) for a in sample]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    base_rate, base_cpu = len(sample) / wall, len(sample) / cpu
    base_vertices = sum(len(r) for g in traced for part in g for r in part) / len(sample)
    sample_src = sum(len(p) // 2 for a in sample for p in a["segmentation"]) / len(sample)
    seam_parts = max(len(g) for g, a in zip(traced, sample, strict=True) if a["kind"] == "seam")
    print(
        f"baseline (full-image mask + tracing), {len(sample)} objects: {base_rate:.1f}/s wall "
        f"({base_cpu:.1f}/s of CPU), {base_vertices:.1f} vertices/instance (source "
        f"{sample_src:.1f}), seam objects in up to {seam_parts} parts"
    )
    for label, (report, wall_i, cpu_i, _, _) in rows.items():
        print(
            f"ratio {label} import / baseline conversion: "
            f"{report.instances_created / wall_i / base_rate:.0f}x wall, "
            f"{report.instances_created / cpu_i / base_cpu:.0f}x CPU"
        )


if __name__ == "__main__":
    main()
