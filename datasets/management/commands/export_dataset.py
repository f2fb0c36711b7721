"""``manage.py export_dataset PROJECT OUT.zip --format coco [...]``: export synchronously."""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError

from annotations.models import Project
from datasets.exporters.run import write_export
from datasets.selection import ExportOptions, OptionsError


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
        try:
            options = ExportOptions.from_dict(data)
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
