"""Project lifecycle: creation with a class list (pasted or copied), and what a deletion takes.

The deletion summary walks the models that cascade from a project and counts their rows
with one COUNT query per model, so the confirmation can say exactly what goes with it without
loading the objects.
"""

from __future__ import annotations

from django.db import models, transaction
from django.db.models import Q, Sum

from .models import LabelClass, Project
from .serializers import CLASS_COPY_FIELDS

#: How deep the cascade is followed (project → panorama → instance → … is 3 levels).
MAX_DEPTH = 4


def create_project(user, data: dict, source: Project | None = None) -> Project:
    """Create a project from validated serializer data; classes from ``data['classes']`` or
    copied from ``source``. The creator becomes its manager."""
    from .models import Membership

    data = dict(data)
    classes = data.pop("classes", None) or []
    data.pop("copy_classes_from", None)
    with transaction.atomic():
        project = Project.objects.create(created_by=user, **data)
        if source is not None:
            classes = [
                {key: getattr(c, key) for key in CLASS_COPY_FIELDS}
                for c in LabelClass.objects.filter(project=source).order_by("order", "id")
            ]
        LabelClass.objects.bulk_create(LabelClass(project=project, **c) for c in classes)
        Membership.objects.get_or_create(project=project, user=user, defaults={"role": "manager"})
    return project


def _cascading(model: type[models.Model]):
    """(related model, field name) of the relations whose rows are deleted with ``model``."""
    for rel in model._meta.get_fields(include_hidden=True):
        if not rel.auto_created or rel.concrete or not (rel.one_to_many or rel.one_to_one):
            continue
        if rel.on_delete is not models.CASCADE:
            continue
        yield rel.related_model, rel.field.name


def deletion_summary(project: Project) -> dict:
    """What deleting ``project`` deletes: row counts per model, and the stored image bytes."""
    paths: dict[type[models.Model], set[str]] = {}

    def walk(model: type[models.Model], path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        for related, field in _cascading(model):
            lookup = f"{field}__{path}" if path else field
            paths.setdefault(related, set()).add(lookup)
            walk(related, lookup, depth + 1)

    walk(Project, "", 1)
    items = []
    for model, lookups in paths.items():
        # a row reachable along several paths (an instance via its panorama and its class)
        # is counted once
        condition = Q()
        for lookup in lookups:
            condition |= Q(**{lookup: project.pk})
        n = model._default_manager.filter(condition).distinct().count()
        if n:
            items.append(
                {
                    "model": model._meta.label_lower,
                    "label": str(model._meta.verbose_name_plural),
                    "count": n,
                }
            )
    items.sort(key=lambda item: (-item["count"], item["model"]))
    image_bytes = project.panoramas.aggregate(n=Sum("size_bytes"))["n"] or 0
    return {"project": project.pk, "name": project.name, "items": items, "image_bytes": image_bytes}
