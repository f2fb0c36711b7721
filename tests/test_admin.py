"""Every model is in the Django admin, and its list and add pages render for an admin."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin

from .factories import make_panorama, make_project, make_user

PROJECT_APPS = {"annotations", "inference", "datasets"}


def test_every_project_model_is_registered():
    missing = [
        model.__name__
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS and model not in admin.site._registry
    ]
    assert missing == []


@pytest.mark.django_db
def test_admin_changelists_render(client):
    admin_user = make_user("root", staff=True)
    project = make_project("Admin", {"manager": admin_user})
    make_panorama(project)
    client.force_login(admin_user)
    for model in admin.site._registry:
        meta = model._meta
        if meta.app_label not in PROJECT_APPS:
            continue
        url = f"/admin/{meta.app_label}/{meta.model_name}/"
        response = client.get(url)
        assert response.status_code == 200, url
        assert client.get(url + "?q=x").status_code == 200, url
