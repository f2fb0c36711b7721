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
    return render(request, "frontend/app.html", {"page": "workspace", "panorama_id": panorama_id})
