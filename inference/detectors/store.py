"""Detector suggestions in the database, and the project's detector settings.

Suggestions are ordinary suggestion rows (``Instance`` with ``source='model'``,
``is_suggestion=True``, ``score``, ``model_version``), so the pre-labelling endpoints list,
accept and reject them like any other (``/api/prelabel/suggestions/…``). Recognised text and
landmarks go into ``attributes``. Re-running the detectors replaces only the *detector*
suggestions of the panorama (``model_version`` starting with :data:`VERSION_PREFIX`):
pre-labelling suggestions and human work are never touched — which is why this module does
not reuse :func:`inference.prelabel.store.store_suggestions`, which replaces every
unaccepted suggestion.

Project settings (``Project.settings['detectors']``, no new table)::

    {"classes": {"face": "<project class>", "text": "...", "plate": "..."}}
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Max

from annotations.attributes import values_errors
from annotations.geometry import geometry_errors, normalise
from annotations.models import Instance, LabelClass, Panorama, Project
from annotations.services import RevisionConflict, write_annotations

from .classes import OUTPUTS, Mapped

SETTINGS_KEY = "detectors"
VERSION_PREFIX = "detector:"


def detector_settings(project: Project) -> dict:
    return dict((project.settings or {}).get(SETTINGS_KEY) or {})


def class_mapping(project: Project) -> dict[str, str]:
    return dict(detector_settings(project).get("classes") or {})


def validate_mapping(project: Project, mapping: object) -> dict[str, str]:
    """The cleaned mapping {face|text|plate: project class name}, or ValidationError naming
    every bad entry (bounded: at most the three outputs)."""
    if not isinstance(mapping, dict) or len(mapping) > len(OUTPUTS):
        raise ValidationError({"classes": "give an object {face|text|plate: project class}"})
    names = {
        name: ignore
        for name, ignore in LabelClass.objects.filter(project=project).values_list(
            "name", "is_ignore"
        )
    }
    errors = []
    for output, target in mapping.items():
        if output not in OUTPUTS:
            errors.append(f"{str(output)[:40]!r}: not a detector output ({', '.join(OUTPUTS)})")
        elif not isinstance(target, str) or target not in names:
            errors.append(f"{output!r}: no class {str(target)[:100]!r} in project {project.name}")
        elif names[target]:
            errors.append(f"{output!r}: {target!r} is an ignore class")
    if errors:
        raise ValidationError({"classes": errors})
    return {str(k): str(v) for k, v in mapping.items()}


def save_mapping(project: Project, mapping: object) -> dict[str, str]:
    clean = validate_mapping(project, mapping)
    project.refresh_from_db(fields=["settings"])
    settings = dict(project.settings or {})
    values = dict(settings.get(SETTINGS_KEY) or {})
    values["classes"] = clean
    settings[SETTINGS_KEY] = values
    project.settings = settings
    project.save(update_fields=["settings", "updated_at"])
    return clean


def provenance(model_version: str) -> dict:
    """What the UI shows next to detector suggestions (same keys as a project model's
    provenance): pretrained, where the weights come from, nothing learnt from this project."""
    return {
        "weights": None,
        "name": "Pretrained detectors",
        "version": model_version[len(VERSION_PREFIX) :],
        "task": "detection",
        "format": "torch (MTCNN) + onnx (PP-OCRv4)",
        "trained_on": "pretrained elsewhere, nothing learnt from this project: MTCNN faces "
        "(weights of the facenet-pytorch 2.6.0 wheel, MIT), PP-OCRv4 text (models of the "
        "rapidocr_onnxruntime 1.4.4 wheel, Apache-2.0)",
        "panoramas": None,
        "validation_panoramas": None,
        "validation_iou": {},
        "calibrated": False,
        "class_precision": {},
        "measured": "recall and precision per latitude band on real photos pasted into real "
        "panoramas: docs/detectors.md",
    }


def store_detections(panorama: Panorama, mapped: list[Mapped], model_version: str) -> dict:
    """Replace the panorama's unaccepted *detector* suggestions with ``mapped``."""
    classes = {c.name: c for c in LabelClass.objects.filter(project_id=panorama.project_id)}
    rows, skipped = [], 0
    for m in sorted(mapped, key=lambda m: -m.score):
        label_class = classes.get(m.class_name)
        if label_class is None or label_class.is_ignore or geometry_errors(m.geometry):
            skipped += 1
            continue
        attributes = m.attributes
        if values_errors(label_class.attribute_schema or [], attributes):
            # the class's schema disagrees (e.g. 'text' declared as an enum): keep the polygon
            attributes = {"detector": m.attributes.get("detector", m.output)}
        rows.append((label_class, normalise(m.geometry), float(m.score), attributes))
    version = (VERSION_PREFIX + model_version)[:200]

    def change(locked: Panorama) -> int:
        old = Instance.objects.filter(
            panorama=locked, is_suggestion=True, model_version__startswith=VERSION_PREFIX
        )
        removed, _ = old.delete()
        top = Instance.objects.filter(panorama=locked).aggregate(m=Max("order"))["m"] or 0
        Instance.objects.bulk_create(
            [
                Instance(
                    panorama=locked,
                    label_class=label_class,
                    geometry=geometry,
                    source="model",
                    is_suggestion=True,
                    score=round(score, 4),
                    model_version=version,
                    attributes=attributes,
                    order=top + 1 + k,
                )
                for k, (label_class, geometry, score, attributes) in enumerate(rows)
            ]
        )
        return removed

    for attempt in range(5):
        panorama.refresh_from_db(fields=["revision"])
        try:
            removed, revision = write_annotations(panorama, panorama.revision, change)
            break
        except RevisionConflict:
            if attempt == 4:
                raise
    return {
        "panorama": panorama.pk,
        "suggestions": len(rows),
        "replaced": removed,
        "skipped": skipped,
        "revision": revision,
    }
