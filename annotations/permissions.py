"""Who may do what: project roles and the DRF permission classes built on them.

Rules (staff and superusers are admins of everything):

===========  ======  =========================  ====================  ===============
role         read    annotations (instances)    review (approve/..)   manage project
===========  ======  =========================  ====================  ===============
manager      yes     yes                        yes (and reopen)      yes
reviewer     yes     yes (to correct)           yes                   no
annotator    yes     assigned panoramas only    no (may submit)       no
viewer       yes     no                         no                    no
non-member   404     404                        404                   404
===========  ======  =========================  ====================  ===============

The workflow state narrows the annotations column (``edit_lock``): a *submitted*
panorama is read-only for its annotators until a reviewer rejects it (reviewers and
managers may still correct it while reviewing); an *approved* panorama is read-only for
everyone, admins and background jobs included, until a manager reopens it with a reason.
A role that may not write answers 403; a state that does not allow the write answers
409 (``annotations_locked``).

Objects of projects the user is not a member of answer 404, never 403, so their
existence does not leak.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from rest_framework import permissions, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied

from .models import Membership, Panorama, PanoramaStatus, Project, Role

ADMIN = "admin"
ANNOTATION_WRITERS = {ADMIN, Role.MANAGER, Role.REVIEWER}
REVIEWERS = {ADMIN, Role.MANAGER, Role.REVIEWER}
MANAGERS = {ADMIN, Role.MANAGER}


def is_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user and user.is_authenticated and (user.is_staff or user.is_superuser))


def role_of(user: AbstractBaseUser | AnonymousUser, project: Project | int) -> str | None:
    """The user's role in the project: 'admin', a Role value, or None for non-members."""
    if not user or not user.is_authenticated:
        return None
    if is_admin(user):
        return ADMIN
    project_id = project.pk if isinstance(project, Project) else project
    cache = getattr(user, "_label360_roles", None)
    if cache is None:
        cache = dict(Membership.objects.filter(user=user).values_list("project_id", "role"))
        user._label360_roles = cache
    return cache.get(project_id)


def visible_projects(user: AbstractBaseUser) -> QuerySet[Project]:
    if is_admin(user):
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def visible_project(user: AbstractBaseUser, pk: object) -> Project:
    """The project ``pk`` when ``user`` may see it; 404 "No such project." otherwise."""
    project = visible_projects(user).filter(pk=pk).first()
    if project is None:
        raise NotFound("No such project.")
    return project


def can_manage(user: AbstractBaseUser, project: Project | int) -> bool:
    return role_of(user, project) in MANAGERS


def can_review(user: AbstractBaseUser, project: Project | int) -> bool:
    return role_of(user, project) in REVIEWERS


def may_annotate(user: AbstractBaseUser, panorama: Panorama) -> bool:
    """Whether the user's role lets them write the panorama's annotations at all."""
    role = role_of(user, panorama.project_id)
    if role in ANNOTATION_WRITERS:
        return True
    if role == Role.ANNOTATOR:
        # iterate the (usually prefetched) assignees rather than issuing one query per row
        return any(u.pk == user.pk for u in panorama.assignees.all())
    return False


def edit_lock(user: AbstractBaseUser | None, panorama: Panorama) -> str | None:
    """Why the panorama's workflow state keeps ``user`` from writing its annotations now.

    None when the state allows the write. ``user`` None is a background writer (a job,
    an import): only approval locks it out.
    """
    if panorama.status == PanoramaStatus.APPROVED:
        return (
            "This panorama is approved: its annotations are read-only until a manager "
            "reopens it (with a reason)."
        )
    if panorama.status == PanoramaStatus.SUBMITTED and user is not None:
        if role_of(user, panorama.project_id) not in REVIEWERS:
            return (
                "This panorama is submitted for review: it is read-only for you until a "
                "reviewer rejects it or a manager reopens it."
            )
    return None


def can_edit_annotations(user: AbstractBaseUser, panorama: Panorama) -> bool:
    """Whether the user may write the panorama's annotations now (role and state)."""
    return may_annotate(user, panorama) and edit_lock(user, panorama) is None


class AnnotationsLocked(APIException):
    """A write refused because of the panorama's workflow state (409), not the user's role."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "annotations_locked"

    def __init__(self, message: str, panorama_status: str):
        super().__init__(
            {"detail": message, "code": "annotations_locked", "status": panorama_status}
        )
        self.message = message

    def __str__(self) -> str:
        return self.message


def require_annotation_write(user: AbstractBaseUser, panorama: Panorama) -> None:
    """Raise 403 when the role may not write, 409 when the workflow state does not allow it."""
    if not may_annotate(user, panorama):
        raise PermissionDenied("Your role does not allow editing this panorama's annotations.")
    reason = edit_lock(user, panorama)
    if reason is not None:
        raise AnnotationsLocked(reason, panorama.status)


class ProjectRolePermission(permissions.BasePermission):
    """Object permission for objects that belong to a project.

    Reads need membership (querysets already hide foreign projects, which yields 404);
    writes need the manager role unless a view overrides ``write_check``.
    """

    message = "Your role in this project does not allow this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj) -> bool:
        project_id = view.project_id_of(obj)
        role = role_of(request.user, project_id)
        if role is None:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        check = getattr(view, "write_check", None)
        if check is not None:
            return check(request, obj)
        return role in MANAGERS
