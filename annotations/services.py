"""Writes to a panorama's annotations, serialised and revision-checked.

Every write names the revision it was based on. Inside one transaction the panorama
row is locked (SELECT ... FOR UPDATE on PostgreSQL), the revision compared, the change
applied and the revision bumped, so two clients can never both succeed from the same
revision: the second gets a RevisionConflict and nothing of it is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import transaction
from django.utils import timezone

from . import signals
from .geometry import geometry_errors, normalise
from .models import Instance, LabelClass, Panorama

T = TypeVar("T")


class RevisionConflict(Exception):
    def __init__(self, current: int):
        super().__init__(f"the panorama is at revision {current}")
        self.current = current


class BulkValidationError(Exception):
    """Per-instance problems in a bulk save: {index: {field: [messages]}}."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]):
        super().__init__("invalid instances")
        self.errors = errors


def write_annotations(
    panorama: Panorama, base_revision: int | None, change: Callable[[Panorama], T]
) -> tuple[T, int]:
    """Run ``change`` under the panorama's lock if ``base_revision`` is current.

    ``base_revision`` None is refused: every write must say what it was based on.
    Returns (the change's result, the new revision).
    """
    with transaction.atomic():
        locked = Panorama.objects.select_for_update().get(pk=panorama.pk)
        if base_revision is None or base_revision != locked.revision:
            raise RevisionConflict(locked.revision)
        result = change(locked)
        new_revision = locked.bump_revision()
        if locked.status == "new":
            Panorama.objects.filter(pk=locked.pk).update(status="in_progress")
        transaction.on_commit(lambda: signals.annotations_changed.send(Panorama, panorama=locked))
    panorama.revision = new_revision
    return result, new_revision


def replace_instances(panorama: Panorama, items: list[dict], user) -> list[Instance]:
    """Make the panorama's instance set exactly ``items`` (bulk save).

    Items with an ``id`` of this panorama are updated, items without one created, and
    instances not named are deleted. Validation happens before any write; call inside
    ``write_annotations`` so the whole set is one transaction.
    """
    classes = {c.pk: c for c in LabelClass.objects.filter(project_id=panorama.project_id)}
    existing = {i.pk: i for i in Instance.objects.filter(panorama=panorama)}
    errors: dict[int, dict[str, list[str]]] = {}
    seen_ids: set[int] = set()
    for index, item in enumerate(items):
        problems: dict[str, list[str]] = {}
        if item["label_class"] not in classes:
            problems["label_class"] = [f"class {item['label_class']} is not in this project"]
        instance_id = item.get("id")
        stored = existing.get(instance_id) if instance_id is not None else None
        # Autosave resends the whole set; geometry identical to what is stored was
        # validated when it was written, so only new or changed geometry is checked.
        if stored is None or stored.geometry != item["geometry"]:
            geometry_problems = geometry_errors(item["geometry"])
            if geometry_problems:
                problems["geometry"] = geometry_problems
        if instance_id is not None:
            if instance_id not in existing:
                problems["id"] = [f"instance {instance_id} is not on this panorama"]
            elif instance_id in seen_ids:
                problems["id"] = [f"instance {instance_id} appears twice"]
            seen_ids.add(instance_id)
        if problems:
            errors[index] = problems
    if errors:
        raise BulkValidationError(errors)

    keep: list[Instance] = []
    changed: list[Instance] = []
    now = timezone.now()
    for order, item in enumerate(items):
        instance = existing.get(item.get("id")) if item.get("id") is not None else None
        before = _snapshot(instance) if instance is not None else None
        if instance is None:
            instance = Instance(panorama=panorama, created_by=_user(user))
        instance.label_class = classes[item["label_class"]]
        instance.geometry = normalise(item["geometry"])
        instance.source = item.get("source", "manual")
        instance.is_suggestion = item.get("is_suggestion", False)
        instance.score = item.get("score")
        instance.model_version = item.get("model_version", "")
        instance.attributes = item.get("attributes", {})
        instance.order = order
        keep.append(instance)
        if before is None or _snapshot(instance) != before:
            instance.updated_by = _user(user)
            instance.updated_at = now
            changed.append(instance)
    # Set-based writes: three statements whatever the number of instances, touching
    # only the rows that changed.
    Instance.objects.filter(panorama=panorama).exclude(pk__in=seen_ids).delete()
    updated = [i for i in changed if i.pk is not None]
    Instance.objects.bulk_update(updated, UPDATABLE_FIELDS, batch_size=500)
    created = [i for i in keep if i.pk is None]
    Instance.objects.bulk_create(created, batch_size=500)
    return keep


UPDATABLE_FIELDS = [
    "label_class",
    "geometry",
    "source",
    "is_suggestion",
    "score",
    "model_version",
    "attributes",
    "order",
    "updated_by",
    "updated_at",
]


def _snapshot(instance: Instance) -> tuple:
    return tuple(
        getattr(instance, "label_class_id" if f == "label_class" else f)
        for f in UPDATABLE_FIELDS[:-2]
    )


def _user(user):
    return user if user is not None and user.is_authenticated else None
