"""Pages of the annotation UI. Each page is a shell; the TypeScript bundle (static/dist/) fills it
from the API, so the pages need nothing but the signed-in user and the object id. Also the
favicon."""

from functools import lru_cache

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import ensure_csrf_cookie


@login_required
@ensure_csrf_cookie
def projects(request):
    from annotations.views import may_create_projects

    context = {"page": "projects", "can_create": may_create_projects(request.user)}
    return render(request, "frontend/app.html", context)


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


@login_required
@ensure_csrf_cookie
def settings_page(request, project_id: int):
    return render(request, "frontend/app.html", {"page": "settings", "project_id": project_id})


@login_required
@ensure_csrf_cookie
def upload(request, project_id: int):
    return render(request, "frontend/app.html", {"page": "upload", "project_id": project_id})


@login_required
@ensure_csrf_cookie
def dashboard(request, project_id: int):
    return render(request, "frontend/app.html", {"page": "dashboard", "project_id": project_id})


@lru_cache(maxsize=1)
def _favicon_bytes() -> bytes:
    """The brand mark (a half-filled disc, as in the top bar) as a 16/32/48 px ICO."""
    import io

    from PIL import Image, ImageDraw

    size = 192
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    box = (12, 12, size - 12, size - 12)
    draw.ellipse(box, fill=(15, 17, 21, 255), outline=(76, 141, 255, 255), width=14)
    draw.pieslice(box, 90, 270, fill=(76, 141, 255, 255))
    out = io.BytesIO()
    image.save(out, format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    return out.getvalue()


@cache_control(public=True, max_age=86400)
def favicon(request):
    return HttpResponse(_favicon_bytes(), content_type="image/x-icon")
