"""Access rules of this app, on top of annotations.permissions.

* exports: any member (viewers included) may request and download;
* imports: managers (and admins) only — they write annotations;
* agreement rounds: managers create/edit; members read the report; an annotator of a
  round reads and writes only their own replicas.
Non-members get 404 everywhere.
"""

from __future__ import annotations

from django.http import Http404

from annotations.models import Project
from annotations.permissions import can_manage, role_of, visible_projects


def member_project(user, project_id) -> Project:
    """The project if the user is a member (or admin); 404 otherwise."""
    try:
        pk = int(project_id)
    except (TypeError, ValueError):
        raise Http404("No such project.") from None
    project = visible_projects(user).filter(pk=pk).first()
    if project is None or role_of(user, project) is None:
        raise Http404("No such project.")
    return project


__all__ = ["member_project", "can_manage", "role_of"]
