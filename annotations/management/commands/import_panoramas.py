"""Import a folder of panoramas into a project, with a progress bar and a summary."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotations.models import Project
from annotations.uploads import UploadRejected, store_panorama

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".hdr", ".exr"}


class Command(BaseCommand):
    help = "Import every panorama image in a folder into a project."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project name or id")
        parser.add_argument("folder", type=Path)
        parser.add_argument("--recursive", action="store_true")
        parser.add_argument("--create-project", action="store_true")

    def handle(self, project, folder: Path, recursive: bool, create_project: bool, **options):
        target = _find_project(project, create_project)
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        pattern = "**/*" if recursive else "*"
        files = sorted(p for p in folder.glob(pattern) if p.suffix.lower() in IMAGE_SUFFIXES)
        imported, skipped = 0, []
        for path in tqdm(files, desc="Importing", unit="file", disable=None):
            try:
                store_panorama(target, path.name, path.read_bytes())
                imported += 1
            except UploadRejected as exc:
                skipped.append((path.name, exc.reason))
            except OSError as exc:
                skipped.append((path.name, f"unreadable: {exc}"))
        self.stdout.write(self.style.SUCCESS(f"Imported {imported} of {len(files)} files."))
        for name, reason in skipped:
            self.stdout.write(f"  skipped {name}: {reason}")


def _find_project(identifier: str, create: bool) -> Project:
    query = Project.objects.filter(pk=int(identifier)) if identifier.isdigit() else None
    project = query.first() if query is not None else None
    project = project or Project.objects.filter(name=identifier).first()
    if project is None:
        if not create:
            raise CommandError(f"no project '{identifier}' (use --create-project)")
        project = Project.objects.create(name=identifier)
    return project
