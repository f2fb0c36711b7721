"""Suggestions in the database: storing, accepting, rejecting; class mappings; project model.

Model output is stored as ``Instance`` rows with ``source='model'``, ``is_suggestion=True``,
``score`` and ``model_version`` — apart from human work until accepted. Every write goes
through :func:`annotations.services.write_annotations` (revision-checked, bumps the
revision). Re-running a model replaces only the unaccepted suggestions of that same model
version; other versions' suggestions stay until accepted or rejected.

Per-project settings live in ``Project.settings['prelabel']`` (no new tables)::

    {"project_model": <ModelWeights id>,            # the active project model version
     "model_history": [{"weights", "at", "by", "reason"}, ...],   # activations (rollback)
     "class_mappings": {"<ModelWeights id>": {"<model class>": "<project class>", ...}},
     "suggestion_models": {"<model_version text>": <ModelWeights id>}}   # provenance

Every change goes through :func:`update_prelabel_settings`: the project row is locked and
only the keys the caller owns are changed, so a job that runs for minutes never writes back
settings it read at its start.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from annotations.geometry import geometry_errors, normalise
from annotations.models import Instance, LabelClass, Panorama, Project
from annotations.permissions import AnnotationsLocked
from annotations.services import RevisionConflict, write_annotations
from inference.models import ModelWeights

if TYPE_CHECKING:
    # only a type here; the merge module loads OpenCV and SciPy
    from .merge import Suggestion

SETTINGS_KEY = "prelabel"
T = TypeVar("T")


# -- project settings -----------------------------------------------------------------------
def prelabel_settings(project: Project) -> dict:
    return dict((project.settings or {}).get(SETTINGS_KEY) or {})


def update_prelabel_settings(project: Project, change: Callable[[dict], T]) -> T:
    """Apply ``change(values)`` to the project's current pre-labelling settings under a row
    lock; ``change`` edits only its own keys in place. ``project.settings`` is refreshed."""
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        settings = dict(locked.settings or {})
        values = dict(settings.get(SETTINGS_KEY) or {})
        result = change(values)
        settings[SETTINGS_KEY] = values
        locked.settings = settings
        locked.save(update_fields=["settings", "updated_at"])
    project.settings = locked.settings
    return result


def set_project_model(project: Project, weights: ModelWeights) -> None:
    """Make ``weights`` the project's active model (the other settings are left alone)."""

    def change(values: dict) -> None:
        values["project_model"] = weights.pk

    update_prelabel_settings(project, change)


def project_model(project: Project) -> ModelWeights | None:
    """The project's active model version, if it still exists."""
    project.refresh_from_db(fields=["settings"])
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

    def change(values: dict) -> None:
        mappings = dict(values.get("class_mappings") or {})
        mappings[str(weights.pk)] = clean
        values["class_mappings"] = mappings

    update_prelabel_settings(project, change)
    return clean


def remember_suggestion_model(project: Project, model_version: str, weights: ModelWeights) -> None:
    """Record which weights a ``model_version`` text stands for (provenance of suggestions)."""

    def change(values: dict) -> None:
        known = dict(values.get("suggestion_models") or {})
        if known.get(model_version) != weights.pk:
            known[model_version] = weights.pk
            values["suggestion_models"] = known

    if prelabel_settings(project).get("suggestion_models", {}).get(model_version) != weights.pk:
        update_prelabel_settings(project, change)


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
    panorama: Panorama,
    suggestions: list[Suggestion],
    model_version: str,
    guard: Callable[[], None] | None = None,
) -> dict:
    """Replace the panorama's unaccepted suggestions OF ``model_version`` with ``suggestions``.

    Human work (every instance with ``is_suggestion=False``) and other model versions'
    suggestions are never touched. Classes the project lacks and invalid geometries are
    skipped (counted in the result). ``guard()`` runs inside the write transaction, after the
    panorama is locked, and raises to write nothing (e.g. the job was cancelled meanwhile).
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

    version = model_version[:200]

    def change(locked: Panorama) -> int:
        if guard is not None:
            guard()
        removed, _ = Instance.objects.filter(
            panorama=locked, is_suggestion=True, model_version=version
        ).delete()
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
                    order=top + 1 + k,
                )
                for k, (label_class, geometry, score) in enumerate(rows)
            ]
        )
        return removed

    try:
        removed, revision = _with_retry(panorama, change)
    except AnnotationsLocked as exc:
        # approved work is not touched, not even by its unaccepted suggestions
        return {"panorama": panorama.pk, "suggestions": 0, "skipped": str(exc)}
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

    return write_annotations(panorama, base_revision, change, user=user)


def reject_suggestions(
    panorama: Panorama, base_revision: int, ids: list[int], user=None
) -> tuple[list[int], int]:
    """Delete these suggestions (accepted instances are never deleted here). Revision-checked."""

    def change(locked: Panorama) -> list[int]:
        qs = Instance.objects.filter(panorama=locked, is_suggestion=True, pk__in=ids)
        rejected = list(qs.values_list("pk", flat=True))
        qs.delete()
        return rejected

    return write_annotations(panorama, base_revision, change, user=user)
