"""``manage.py export_dataset PROJECT OUT.zip --format coco [...]``: export synchronously.

``--panorama ID`` (repeatable) exports only those panoramas; ``--split NAME=RATIO``
(repeatable) with ``--seed`` and optionally ``--split-group KEY``, or ``--split-field KEY``,
splits the dataset (docs/datasets.md).
"""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError

from annotations.models import Project
from datasets.exporters.run import write_export
from datasets.selection import ExportOptions, OptionsError, check_feasible


class Command(BaseCommand):
    help = "Export a project's labels (coco, coco_views, png, label360) to a zip file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("project", help="project id or name")
        parser.add_argument("output", help="path of the zip to write")
        parser.add_argument(
            "--format", default="coco", choices=["coco", "coco_views", "png", "label360"]
        )
        parser.add_argument(
            "--status", action="append", default=[], help="panorama status (repeatable)"
        )
        parser.add_argument(
            "--class",
            dest="classes",
            action="append",
            default=[],
            help="class name or id (repeatable)",
        )
        parser.add_argument("--include-images", action="store_true")
        parser.add_argument("--include-suggestions", action="store_true")
        parser.add_argument("--ignore", default="crowd", choices=["crowd", "omit"])
        parser.add_argument("--face-size", type=int, default=512)
        parser.add_argument("--face-fov", type=float, default=90.0)
        parser.add_argument(
            "--views-json", help="JSON list of views {yaw,pitch,roll,hfov,width,height}"
        )
        parser.add_argument(
            "--workers", type=int, default=1, help="processes encoding masks (coco)"
        )
        parser.add_argument(
            "--panorama",
            dest="panoramas",
            type=int,
            action="append",
            default=[],
            help="panorama id (repeatable); default: every panorama",
        )
        parser.add_argument(
            "--seam",
            default="whole",
            choices=["whole", "split"],
            help="coco: objects across the ±180° seam as one annotation or two",
        )
        parser.add_argument(
            "--png-ids",
            default="cityscapes",
            choices=["cityscapes", "sequential"],
            help="label PNG instance ids: class × 1000 + n, or 1..N per panorama",
        )
        parser.add_argument(
            "--split",
            action="append",
            default=[],
            metavar="NAME=RATIO",
            help="a split and its share, e.g. --split train=0.8 --split val=0.1 "
            "--split test=0.1 (repeatable, in order)",
        )
        parser.add_argument("--seed", default="0", help="split seed (same seed, same split)")
        parser.add_argument(
            "--split-group", help="metadata key whose panoramas share a split (e.g. sequence)"
        )
        parser.add_argument("--split-field", help="metadata key holding each panorama's split")

    def handle(self, *args, **opts) -> None:
        ref = opts["project"]
        project = Project.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
        project = project or Project.objects.filter(name=ref).first()
        if project is None:
            raise CommandError(f"no project {ref!r}")
        class_ids = []
        for c in opts["classes"]:
            found = (
                project.classes.filter(pk=int(c)) if c.isdigit() else project.classes.filter(name=c)
            )
            if not found.exists():
                raise CommandError(f"no class {c!r} in {project}")
            class_ids.append(found.first().pk)
        data = {
            "format": opts["format"],
            "statuses": opts["status"],
            "classes": class_ids,
            "include_images": opts["include_images"],
            "include_suggestions": opts["include_suggestions"],
            "ignore": opts["ignore"],
            "face_size": opts["face_size"],
            "face_fov": opts["face_fov"],
        }
        if opts["views_json"]:
            data.update(views="list", view_list=json.loads(opts["views_json"]))
        data.update(
            panoramas=opts["panoramas"],
            seam=opts["seam"],
            png_ids=opts["png_ids"],
            split=self._split(opts),
        )
        try:
            options = ExportOptions.from_dict(data)
            check_feasible(project, options)
        except OptionsError as exc:
            raise CommandError(str(exc)) from exc
        start = time.perf_counter()

        def progress(fraction: float, message: str) -> None:
            if opts["verbosity"] > 1:
                self.stderr.write(f"{fraction:6.1%} {message}")

        summary = write_export(project, options, opts["output"], progress, workers=opts["workers"])
        elapsed = time.perf_counter() - start
        self.stdout.write(
            json.dumps({"output": opts["output"], "seconds": round(elapsed, 3), **summary})
        )

    @staticmethod
    def _split(opts: dict) -> dict | None:
        """The split option from --split NAME=RATIO..., --seed, --split-group, --split-field."""
        if opts["split_field"]:
            if opts["split"]:
                raise CommandError("--split-field and --split contradict each other")
            return {"field": opts["split_field"]}
        if not opts["split"]:
            if opts["split_group"]:
                raise CommandError("--split-group needs --split NAME=RATIO")
            return None
        ratios = []
        for item in opts["split"]:
            name, sep, ratio = item.partition("=")
            try:
                ratios.append([name, float(ratio)])
            except ValueError:
                raise CommandError(f"--split {item!r}: expected NAME=RATIO") from None
            if not sep:
                raise CommandError(f"--split {item!r}: expected NAME=RATIO")
        split = {"ratios": ratios, "seed": opts["seed"]}
        if opts["split_group"]:
            split["group"] = opts["split_group"]
        return split
