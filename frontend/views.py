"""Pages of the annotation UI. Each page is a shell; the TypeScript bundle (static/dist/) fills it
from the API, so the pages need nothing but the signed-in user and the object id."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie


@login_required
@ensure_csrf_cookie
def projects(request):
    return render(request, "frontend/app.html", {"page": "projects"})


@login_required
@ensure_csrf_cookie
def navigator(request, project_id: int):
    return render(request, "frontend/app.html", {"page": "navigator", "project_id": project_id})


@login_required
@ensure_csrf_cookie
def workspace(request, panorama_id: int):
    # the project id lets the page ask for the project and its classes in parallel with the
    # panorama (first frame); only for panoramas the user may see
    from annotations.models import Panorama
    from annotations.permissions import visible_projects

    project_id = (
        Panorama.objects.filter(pk=panorama_id, project__in=visible_projects(request.user))
        .values_list("project_id", flat=True)
        .first()
    )
    return render(
        request,
        "frontend/app.html",
        {"page": "workspace", "panorama_id": panorama_id, "project_id": project_id},
    )


def _project_context(request, project_id: int, page: str) -> dict:
    """Context of the project pages (export, agreement). The agreement page also gets the
    project's members (id, username, role) for managers, because rounds name annotators by
    user id and the membership API lists usernames only."""
    from annotations.permissions import can_manage, visible_projects

    context = {"page": page, "project_id": project_id, "members": None}
    project = visible_projects(request.user).filter(pk=project_id).first()
    if page == "agreement" and project is not None:
        members = [
            {"id": m.user_id, "username": m.user.username, "role": m.role}
            for m in project.memberships.select_related("user").order_by("user__username")
        ]
        context["members"] = members if can_manage(request.user, project) else None
    return context


@login_required
@ensure_csrf_cookie
def exports(request, project_id: int):
    return render(request, "frontend/app.html", _project_context(request, project_id, "exports"))


@login_required
@ensure_csrf_cookie
def agreement(request, project_id: int):
    return render(request, "frontend/app.html", _project_context(request, project_id, "agreement"))
