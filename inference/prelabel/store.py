"""Suggestions in the database: storing, accepting, rejecting; class mappings; project model.

Model output is stored as ``Instance`` rows with ``source='model'``, ``is_suggestion=True``,
``score`` and ``model_version`` — apart from human work until accepted. Every write goes
through :func:`annotations.services.write_annotations` (revision-checked, bumps the
revision). Re-running pre-labelling replaces only the panorama's unaccepted suggestions.

Per-project settings live in ``Project.settings['prelabel']`` (no new tables)::

    {"project_model": <ModelWeights id>,
     "class_mappings": {"<ModelWeights id>": {"<model class>": "<project class>", ...}}}
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Max

from annotations.geometry import geometry_errors, normalise
from annotations.models import Instance, LabelClass, Panorama, Project
from annotations.services import RevisionConflict, write_annotations
from inference.models import ModelWeights

from .merge import Suggestion

SETTINGS_KEY = "prelabel"


# -- project settings -----------------------------------------------------------------------
def prelabel_settings(project: Project) -> dict:
    return dict((project.settings or {}).get(SETTINGS_KEY) or {})


def _save_settings(project: Project, values: dict) -> None:
    project.refresh_from_db(fields=["settings"])
    settings = dict(project.settings or {})
    settings[SETTINGS_KEY] = values
    project.settings = settings
    project.save(update_fields=["settings", "updated_at"])


def set_project_model(project: Project, weights: ModelWeights) -> None:
    values = prelabel_settings(project)
    values["project_model"] = weights.pk
    _save_settings(project, values)


def project_model(project: Project) -> ModelWeights | None:
    """The project's trained model (set by the training job), if it still exists."""
    pk = prelabel_settings(project).get("project_model")
    return ModelWeights.objects.filter(pk=pk).first() if pk else None


def class_mapping(project: Project, weights: ModelWeights) -> dict[str, str]:
    return dict(prelabel_settings(project).get("class_mappings", {}).get(str(weights.pk), {}))


def validate_class_mapping(project: Project, weights: ModelWeights, mapping: object) -> dict:
    """The cleaned mapping, or ValidationError naming every bad entry."""
    if not isinstance(mapping, dict) or not mapping:
        raise ValidationError({"mapping": "give an object {model class: project class}"})
    names = set(LabelClass.objects.filter(project=project).values_list("name", flat=True))
    model_names = set(weights.class_names or [])
    errors = []
    for source, target in mapping.items():
        if not isinstance(target, str):
            errors.append(f"{source!r}: the project class must be a name")
        elif target not in names:
            errors.append(f"{source!r} → {target!r}: no class {target!r} in project {project.name}")
        if model_names and source not in model_names:
            errors.append(f"{source!r}: not one of the model's class_names")
    if errors:
        raise ValidationError({"mapping": errors})
    return {str(k): str(v) for k, v in mapping.items()}


def save_class_mapping(project: Project, weights: ModelWeights, mapping: object) -> dict:
    """Validate and store the mapping of ``weights``' classes to ``project``'s classes."""
    if weights.task != "instance_segmentation":
        raise ValidationError({"weights": "class mappings are for instance-segmentation models"})
    clean = validate_class_mapping(project, weights, mapping)
    values = prelabel_settings(project)
    values.setdefault("class_mappings", {})[str(weights.pk)] = clean
    _save_settings(project, values)
    return clean


# -- suggestions ----------------------------------------------------------------------------
def _with_retry(panorama: Panorama, change, attempts: int = 5):
    """write_annotations at the panorama's current revision, retrying on conflicts."""
    for attempt in range(attempts):
        panorama.refresh_from_db(fields=["revision"])
        try:
            return write_annotations(panorama, panorama.revision, change)
        except RevisionConflict:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def store_suggestions(
    panorama: Panorama, suggestions: list[Suggestion], model_version: str
) -> dict:
    """Replace the panorama's unaccepted suggestions with ``suggestions``.

    Human work (every instance with ``is_suggestion=False``) is never touched. Classes the
    project lacks and invalid geometries are skipped (counted in the result).
    """
    classes = {c.name: c for c in LabelClass.objects.filter(project_id=panorama.project_id)}
    rows, skipped_class, skipped_geometry = [], 0, 0
    for s in sorted(suggestions, key=lambda s: -s.score):
        label_class = classes.get(s.class_name)
        if label_class is None or label_class.is_ignore:
            skipped_class += 1
            continue
        if geometry_errors(s.geometry):
            skipped_geometry += 1
            continue
        rows.append((label_class, normalise(s.geometry), float(s.score)))

    def change(locked: Panorama) -> int:
        removed, _ = Instance.objects.filter(panorama=locked, is_suggestion=True).delete()
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
                    model_version=model_version[:200],
                    order=top + 1 + k,
                )
                for k, (label_class, geometry, score) in enumerate(rows)
            ]
        )
        return removed

    removed, revision = _with_retry(panorama, change)
    return {
        "panorama": panorama.pk,
        "suggestions": len(rows),
        "replaced": removed,
        "skipped_missing_class": skipped_class,
        "skipped_invalid_geometry": skipped_geometry,
        "revision": revision,
    }


def accept_suggestions(
    panorama: Panorama, base_revision: int, ids: list[int] | None = None, min_score=None, user=None
) -> tuple[list[int], int]:
    """Turn suggestions into ordinary instances (``is_suggestion=False``).

    ``ids``: those suggestions; ``min_score``: all with score ≥ it. Revision-checked:
    raises RevisionConflict if ``base_revision`` is stale. Returns (accepted ids, revision).
    """

    def change(locked: Panorama) -> list[int]:
        qs = Instance.objects.filter(panorama=locked, is_suggestion=True)
        if ids is not None:
            qs = qs.filter(pk__in=ids)
        if min_score is not None:
            qs = qs.filter(score__gte=float(min_score))
        accepted = list(qs.values_list("pk", flat=True))
        qs.update(
            is_suggestion=False,
            updated_by=user if user is not None and user.is_authenticated else None,
        )
        return accepted

    return write_annotations(panorama, base_revision, change)


def reject_suggestions(
    panorama: Panorama, base_revision: int, ids: list[int]
) -> tuple[list[int], int]:
    """Delete these suggestions (accepted instances are never deleted here). Revision-checked."""

    def change(locked: Panorama) -> list[int]:
        qs = Instance.objects.filter(panorama=locked, is_suggestion=True, pk__in=ids)
        rejected = list(qs.values_list("pk", flat=True))
        qs.delete()
        return rejected

    return write_annotations(panorama, base_revision, change)
