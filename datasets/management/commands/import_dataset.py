"""``manage.py import_dataset PROJECT FILE --format label360|coco|labelme``."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotations.models import Project
from datasets.importers.run import IMPORT_FORMATS, run_import


class Command(BaseCommand):
    help = "Import labels (Label360 JSON, COCO, LabelMe) into a project; prints the report."

    def add_arguments(self, parser) -> None:
        parser.add_argument("project", help="project id or name")
        parser.add_argument("file", help=".json or .zip")
        parser.add_argument("--format", required=True, choices=IMPORT_FORMATS)
        parser.add_argument(
            "--replace", action="store_true", help="replace the panoramas' instances"
        )
        parser.add_argument(
            "--strict", action="store_true", help="import nothing if anything is skipped"
        )
        parser.add_argument("--no-create-classes", action="store_true")
        parser.add_argument(
            "--create-project", action="store_true", help="create the project by name"
        )
        parser.add_argument("--user", help="username recorded as the importer")

    def handle(self, *args, **opts) -> None:
        ref = opts["project"]
        project = Project.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
        project = project or Project.objects.filter(name=ref).first()
        if project is None and opts["create_project"]:
            project = Project.objects.create(name=ref)
        if project is None:
            raise CommandError(f"no project {ref!r} (use --create-project)")
        user = None
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"no user {opts['user']!r}")
        report = run_import(
            project,
            opts["format"],
            opts["file"],
            user,
            replace=opts["replace"],
            strict=opts["strict"],
            create_classes=not opts["no_create_classes"],
        )
        self.stdout.write(json.dumps(report.as_dict(), indent=2))
        if not report.committed:
            raise CommandError(report.error or "nothing imported")
