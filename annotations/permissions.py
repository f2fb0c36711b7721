"""Who may do what: project roles and the DRF permission classes built on them.

Rules (staff and superusers are admins of everything):

===========  ======  =========================  ====================  ===============
role         read    annotations (instances)    review (approve/..)   manage project
===========  ======  =========================  ====================  ===============
manager      yes     yes                        yes                   yes
reviewer     yes     yes (to correct)           yes                   no
annotator    yes     assigned panoramas only    no (may submit)       no
viewer       yes     no                         no                    no
non-member   404     404                        404                   404
===========  ======  =========================  ====================  ===============

Objects of projects the user is not a member of answer 404, never 403, so their
existence does not leak.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from rest_framework import permissions

from .models import Membership, Panorama, Project, Role

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


def can_manage(user: AbstractBaseUser, project: Project | int) -> bool:
    return role_of(user, project) in MANAGERS


def can_review(user: AbstractBaseUser, project: Project | int) -> bool:
    return role_of(user, project) in REVIEWERS


def can_edit_annotations(user: AbstractBaseUser, panorama: Panorama) -> bool:
    role = role_of(user, panorama.project_id)
    if role in ANNOTATION_WRITERS:
        return True
    if role == Role.ANNOTATOR:
        return panorama.assignees.filter(pk=user.pk).exists()
    return False


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
