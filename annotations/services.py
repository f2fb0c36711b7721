"""Writes to a panorama's annotations, serialised and revision-checked.

Every write names the revision it was based on. Inside one transaction the panorama
row is locked (SELECT ... FOR UPDATE on PostgreSQL), the revision compared, the change
applied and the revision bumped, so two clients can never both succeed from the same
revision: the second gets a RevisionConflict and nothing of it is written. The
workflow state is checked under the same lock (``permissions.edit_lock``), so no write
slips in after an approval.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from . import signals
from .attributes import values_errors
from .geometry import geometry_errors, normalise
from .models import Instance, LabelClass, Panorama
from .permissions import AnnotationsLocked, edit_lock

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
    panorama: Panorama, base_revision: int | None, change: Callable[[Panorama], T], user=None
) -> tuple[T, int]:
    """Run ``change`` under the panorama's lock if ``base_revision`` is current.

    ``base_revision`` None is refused: every write must say what it was based on.
    ``user`` is the person writing (None: a job or an import); a workflow state that
    does not allow their write raises AnnotationsLocked and nothing is written.
    Returns (the change's result, the new revision).
    """
    with transaction.atomic():
        locked = Panorama.objects.select_for_update().get(pk=panorama.pk)
        reason = edit_lock(user, locked)
        if reason is not None:
            raise AnnotationsLocked(reason, locked.status)
        if base_revision is None or base_revision != locked.revision:
            raise RevisionConflict(locked.revision)
        result = change(locked)
        # the row is locked, so the new revision is known: one UPDATE, no read-back
        new_revision = locked.revision + 1
        fields = {"revision": new_revision, "updated_at": timezone.now()}
        if locked.status == "new":
            fields["status"] = "in_progress"
        Panorama.objects.filter(pk=locked.pk).update(**fields)
        locked.revision = new_revision
        transaction.on_commit(lambda: signals.annotations_changed.send(Panorama, panorama=locked))
    panorama.revision = new_revision
    return result, new_revision


def replace_instances(panorama: Panorama, items: list[dict], user) -> list[Instance]:
    """Make the panorama's instance set exactly ``items`` (bulk save).

    Items with an ``id`` of this panorama are updated, items without one created, and
    instances not named are deleted. Validation happens before any write; call inside
    ``write_annotations`` so the whole set is one transaction.
    """
    classes = _classes(panorama)
    existing = {i.pk: i for i in Instance.objects.filter(panorama=panorama)}
    errors: dict[int, dict[str, list[str]]] = {}
    seen_ids: set[int] = set()
    for index, item in enumerate(items):
        problems = _item_problems(item, existing, classes, seen_ids)
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
        _assign(instance, item, classes)
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


class PatchValidationError(Exception):
    """Problems in a partial save: per upsert index, and ids to delete that are not here."""

    def __init__(self, upsert: dict[int, dict[str, list[str]]], delete: list[str]):
        super().__init__("invalid changes")
        self.upsert = upsert
        self.delete = delete


def patch_instances(
    panorama: Panorama, upserts: list[dict], delete: list[int], user
) -> tuple[list[Instance], list[int]]:
    """Apply a partial save: update the ``upserts`` with an ``id``, create those without,
    delete the ``delete`` ids; every other instance is left as it is (not even read).

    New instances go on top of the drawing order, in the order given. Everything is
    validated before any write; call inside ``write_annotations``. Returns the upserted
    instances (in the order given) and the deleted ids.
    """
    classes = _classes(panorama)
    named = {item["id"] for item in upserts if item.get("id") is not None} | set(delete)
    existing = {i.pk: i for i in Instance.objects.filter(panorama=panorama, pk__in=named)}
    errors: dict[int, dict[str, list[str]]] = {}
    seen_ids: set[int] = set()
    deleting = set(delete)
    for index, item in enumerate(upserts):
        problems = _item_problems(item, existing, classes, seen_ids)
        if item.get("id") in deleting:
            problems.setdefault("id", []).append(f"instance {item['id']} is also deleted")
        if problems:
            errors[index] = problems
    delete_errors = [
        f"instance {pk} is not on this panorama" for pk in delete if pk not in existing
    ]
    if len(deleting) != len(delete):
        delete_errors.append("an id appears twice")
    if errors or delete_errors:
        raise PatchValidationError(errors, delete_errors)

    now = timezone.now()
    saved: list[Instance] = []
    updated: list[Instance] = []
    created: list[Instance] = []
    top: int | None = None
    for item in upserts:
        instance = existing.get(item["id"]) if item.get("id") is not None else None
        if instance is None:
            if top is None:  # one indexed query, only when something is added
                top = Instance.objects.filter(panorama=panorama).aggregate(m=Max("order"))["m"]
                top = -1 if top is None else top
            top += 1
            instance = Instance(panorama=panorama, created_by=_user(user), order=top)
            _assign(instance, item, classes)
            created.append(instance)
        else:
            before = _snapshot(instance)
            _assign(instance, item, classes)
            if _snapshot(instance) != before:
                updated.append(instance)
        saved.append(instance)
    for instance in updated + created:
        instance.updated_by = _user(user)
        instance.updated_at = now
    if delete:
        Instance.objects.filter(panorama=panorama, pk__in=delete).delete()
    if updated:
        Instance.objects.bulk_update(updated, UPDATABLE_FIELDS, batch_size=500)
    if created:
        Instance.objects.bulk_create(created, batch_size=500)
    return saved, list(delete)


def _classes(panorama: Panorama) -> dict[int, LabelClass]:
    return {c.pk: c for c in LabelClass.objects.filter(project_id=panorama.project_id)}


def _item_problems(
    item: dict, existing: dict[int, Instance], classes: dict[int, LabelClass], seen_ids: set[int]
) -> dict[str, list[str]]:
    """What is wrong with one instance of a save (adds its id to ``seen_ids``)."""
    problems: dict[str, list[str]] = {}
    if item["label_class"] not in classes:
        problems["label_class"] = [f"class {item['label_class']} is not in this project"]
    instance_id = item.get("id")
    stored = existing.get(instance_id) if instance_id is not None else None
    # Autosave resends instances it did not change (the bulk save sends them all);
    # geometry identical to what is stored was validated when it was written, so only
    # new or changed geometry is checked.
    if stored is None or stored.geometry != item["geometry"]:
        geometry_problems = geometry_errors(item["geometry"])
        if geometry_problems:
            problems["geometry"] = geometry_problems
    # attributes are checked against the class's schema when they (or the class) change,
    # so a later schema edit never blocks saving instances nobody touched
    attributes = item.get("attributes", {})
    if item["label_class"] in classes and (
        stored is None
        or stored.attributes != attributes
        or stored.label_class_id != item["label_class"]
    ):
        attribute_problems = values_errors(
            classes[item["label_class"]].attribute_schema, attributes
        )
        if attribute_problems:
            problems["attributes"] = attribute_problems
    if instance_id is not None:
        if instance_id not in existing:
            problems["id"] = [f"instance {instance_id} is not on this panorama"]
        elif instance_id in seen_ids:
            problems["id"] = [f"instance {instance_id} appears twice"]
        seen_ids.add(instance_id)
    return problems


def _assign(instance: Instance, item: dict, classes: dict[int, LabelClass]) -> None:
    instance.label_class = classes[item["label_class"]]
    instance.geometry = normalise(item["geometry"])
    instance.source = item.get("source", "manual")
    instance.is_suggestion = item.get("is_suggestion", False)
    instance.score = item.get("score")
    instance.model_version = item.get("model_version", "")
    instance.attributes = item.get("attributes", {})


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
