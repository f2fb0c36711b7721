"""Load the demo project: classes, synthetic street/room panoramas, the five real HDRs.

One synthetic street is pre-annotated from its exact ground truth so a newcomer sees
finished labels at once. Running it again adds nothing twice (panoramas are matched by
content hash, classes by name, and labels only go onto an unlabelled panorama).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image
from tqdm import tqdm

from annotations.geometry import geometry_errors
from annotations.models import Instance, InstanceSource, LabelClass, Project
from annotations.uploads import UploadRejected, store_panorama

PROJECT_NAME = "Demo: streets, rooms and real places"
CLASSES = [
    ("building", "#4e79a7", False),
    ("car", "#e15759", False),
    ("person", "#f28e2b", False),
    ("road", "#76b7b2", False),
    ("sky", "#9ecae9", False),
    ("tree", "#59a14f", False),
    ("pole", "#edc948", False),
    ("furniture", "#b07aa1", False),
    ("ignore", "#7f7f7f", True),
]
SYNTHETIC = [("street", 1), ("street", 2), ("street", 3), ("room", 1), ("room", 2)]
PRE_ANNOTATED = ("street", 1)
REAL_DIR = Path(settings.BASE_DIR) / "data" / "polyhaven"


class Command(BaseCommand):
    help = "Create (or complete) the demo project."

    def add_arguments(self, parser):
        parser.add_argument("--width", type=int, default=2048, help="synthetic panorama width")
        parser.add_argument("--no-real", action="store_true", help="skip the real HDR panoramas")

    def handle(self, width: int, no_real: bool, **options):
        from label360.synthetic import render

        project, created = Project.objects.get_or_create(
            name=PROJECT_NAME,
            defaults={
                "description": "Synthetic scenes with exact ground truth and real CC0 HDRIs."
            },
        )
        classes = {}
        for order, (name, color, ignore) in enumerate(CLASSES):
            classes[name], _ = LabelClass.objects.get_or_create(
                project=project,
                name=name,
                defaults={"color": color, "order": order, "is_ignore": ignore},
            )
        added = 0
        for kind, seed in tqdm(SYNTHETIC, desc="Synthetic panoramas", disable=None):
            name = f"synthetic_{kind}_{seed}.png"
            existing = project.panoramas.filter(original_name=name).first()
            if existing is not None and (
                existing.instances.exists() or (kind, seed) != PRE_ANNOTATED
            ):
                continue  # already loaded; rendering again would only find the duplicate
            result = render(kind, seed, width)
            panorama = self._store(project, name, _png(result.rgb))
            added += panorama is not None
            if (kind, seed) == PRE_ANNOTATED:
                target = panorama or self._find(project, _png(result.rgb))
                self._annotate(target, result.annotations, classes)
        if not no_real:
            for path in tqdm(sorted(REAL_DIR.glob("*.hdr")), desc="Real panoramas", disable=None):
                added += self._store(project, path.name, path.read_bytes()) is not None
        verb = "Created" if created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} demo project '{project.name}': {added} new panoramas.")
        )

    def _store(self, project, name, data):
        try:
            return store_panorama(project, name, data)
        except UploadRejected as exc:
            if exc.existing_id is None:
                self.stderr.write(f"skipped {name}: {exc.reason}")
            return None

    def _find(self, project, data):
        import hashlib

        return project.panoramas.get(sha256=hashlib.sha256(data).hexdigest())

    @transaction.atomic
    def _annotate(self, panorama, annotations, classes):
        if panorama.instances.exists():
            return
        order = 0
        for annotation in annotations:
            label_class = classes.get(annotation["class"])
            geometry = _merge_parts(annotation["geometry"])
            if label_class is None or not geometry or geometry_errors(geometry):
                continue
            Instance.objects.create(
                panorama=panorama,
                label_class=label_class,
                geometry=geometry,
                source=InstanceSource.IMPORT,
                order=order,
                attributes={"ground_truth": "synthetic renderer (exact)"},
            )
            order += 1
        panorama.bump_revision()
        # Finished ground-truth labels: approved, so they also serve as training data.
        type(panorama).objects.filter(pk=panorama.pk).update(status="approved")


def _merge_parts(geometry: list) -> list:
    """The renderer gives an occluded object as disjoint convex parts sharing edges; an
    annotator would draw one outline, so merge them (exactly: union keeps great-circle
    edges), keeping the parts if the union fails validation."""
    from label360 import sphere

    if len(geometry) < 2:
        return geometry
    merged = sphere.union([[part] for part in geometry])
    return merged if merged and not geometry_errors(merged) else geometry


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()
