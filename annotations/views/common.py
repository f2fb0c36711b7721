"""Shared pieces of the API views: the revision rule of annotation writes (the base
revision a write names, the 409 answer to a stale one), the base class of project-scoped
viewsets, and small helpers other apps' views use too."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from rest_framework import status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import Panorama, Project
from ..permissions import ProjectRolePermission, can_manage, can_review, is_admin, role_of
from ..services import RevisionConflict


def conflict_response(exc: RevisionConflict) -> Response:
    """The 409 answer to a write based on a stale revision (names the current one)."""
    return Response(
        {
            "detail": "Someone else changed this panorama's annotations; reload and re-apply.",
            "code": "revision_conflict",
            "current_revision": exc.current,
        },
        status=status.HTTP_409_CONFLICT,
        headers={"ETag": f'"{exc.current}"'},
    )


def base_revision(request: Request) -> int | None:
    """The revision a write was based on: If-Match header, else a 'revision' field."""
    header = request.headers.get("If-Match")
    if header:
        try:
            return int(header.strip().strip("W/").strip('"'))
        except ValueError as exc:
            raise ValidationError({"If-Match": "must be the panorama revision number"}) from exc
    value = request.data.get("revision") if hasattr(request.data, "get") else None
    if value is None:
        value = request.query_params.get("revision")
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"revision": "must be an integer"}) from exc


def require_revision(request: Request) -> int:
    """``base_revision``, required: a write that names no revision answers 400."""
    revision = base_revision(request)
    if revision is None:
        raise ValidationError(
            {"revision": "send the panorama revision this write is based on (If-Match or field)"}
        )
    return revision


class ProjectScopedViewSet(viewsets.ModelViewSet):
    """Base for objects that belong to a project (via ``project_path``)."""

    permission_classes = [ProjectRolePermission]
    project_path = "project"

    def project_id_of(self, obj) -> int:
        target = obj
        for part in self.project_path.split("__"):
            target = getattr(target, part)
        return target.pk

    def scoped(self, queryset):
        user = self.request.user
        if is_admin(user):
            return queryset
        return queryset.filter(**{f"{self.project_path}__memberships__user": user})

    def check_create(self, project: Project) -> None:
        if role_of(self.request.user, project) is None:
            raise NotFound("No such project.")
        if not can_manage(self.request.user, project):
            raise PermissionDenied("Only the project's managers can do this.")


def positive_int(value: str | None, name: str) -> int | None:
    """A size from the query string: None when absent, else an integer in 1..16384 (or 400)."""
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise ValidationError({name: "must be a positive integer"}) from exc
    if number <= 0 or number > 16384:
        raise ValidationError({name: "must be between 1 and 16384"})
    return number


def get_visible_panorama(request, pk: int) -> Panorama:
    """A panorama the user may read, or 404 (used by other apps' views)."""
    panorama = get_object_or_404(Panorama.objects.select_related("project"), pk=pk)
    if role_of(request.user, panorama.project_id) is None:
        raise NotFound("No such panorama.")
    return panorama


def can_review_panorama(request, panorama: Panorama) -> bool:
    """Whether the user may review the panorama (used by other apps' views)."""
    return can_review(request.user, panorama.project_id)
