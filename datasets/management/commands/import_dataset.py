"""``manage.py import_dataset PROJECT FILE --format label360|coco|labelme``.

Runs the import in this process (no job) with a progress line on stderr and prints the
report (counts and the first problems; ``--report FILE`` writes the full one). Re-importing
replaces the matched panoramas' instances unless ``--append`` is given.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotations.models import Project
from datasets.importers.common import ImportReport
from datasets.importers.run import IMPORT_FORMATS, run_import


class Command(BaseCommand):
    help = "Import labels (Label360 JSON, COCO, LabelMe) into a project; prints the report."

    def add_arguments(self, parser) -> None:
        parser.add_argument("project", help="project id or name")
        parser.add_argument("file", help=".json or .zip")
        parser.add_argument("--format", required=True, choices=IMPORT_FORMATS)
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--append",
            action="store_true",
            help="add the file's instances to the panoramas' own (default: replace them, "
            "so importing the same file twice changes nothing)",
        )
        mode.add_argument("--replace", action="store_true", help="replace (the default)")
        parser.add_argument(
            "--strict", action="store_true", help="import nothing if anything is skipped"
        )
        parser.add_argument("--no-create-classes", action="store_true")
        parser.add_argument(
            "--create-project", action="store_true", help="create the project by name"
        )
        parser.add_argument("--user", help="username recorded as the importer")
        parser.add_argument("--report", help="write the full report (every problem) here")

    def handle(self, *args, **opts) -> None:
        ref = opts["project"]
        project = Project.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
        project = project or Project.objects.filter(name=ref).first()
        created = False
        if project is None and opts["create_project"]:
            project = Project.objects.create(name=ref)
            created = True
        if project is None:
            raise CommandError(f"no project {ref!r} (use --create-project)")
        user = None
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"no user {opts['user']!r}")
        report = ImportReport(format=opts["format"])
        if opts["verbosity"] > 0:
            report.progress = lambda fraction, message: self.stderr.write(
                f"\r{fraction:6.1%} {message:<40}", ending=""
            )
        try:
            report = run_import(
                project,
                opts["format"],
                opts["file"],
                user,
                replace=not opts["append"],
                strict=opts["strict"],
                create_classes=not opts["no_create_classes"],
                report=report,
            )
        finally:
            if opts["verbosity"] > 0:
                self.stderr.write("")
            if created and not report.committed:
                project.delete()  # a project made for an import that wrote nothing
        if opts["report"]:
            with open(opts["report"], "w", encoding="utf-8") as handle:
                json.dump(report.as_dict(limit=None), handle, indent=1, ensure_ascii=False)
        self.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        if not report.committed:
            raise CommandError(report.error or "nothing imported")
