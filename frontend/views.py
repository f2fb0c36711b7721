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
