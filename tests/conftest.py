"""Fixtures shared by every test module."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from .factories import ROLES, make_panorama, make_project, make_user


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Each test writes media into its own folder (and never into var/); fast hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"},
        },
    }


@pytest.fixture
def users(db):
    """One user per project role, an outsider, and an admin (staff)."""
    made = {role: make_user(role) for role in ROLES}
    made["outsider"] = make_user("outsider")
    made["admin"] = make_user("admin", staff=True)
    return made


@pytest.fixture
def project(users):
    return make_project("Streets", {role: users[role] for role in ROLES})


@pytest.fixture
def foreign_project(db):
    """A project none of the `users` (but the admin) belongs to."""
    return make_project("Foreign")


@pytest.fixture
def panorama(project, users):
    pano = make_panorama(project, seed=1)
    pano.assignees.add(users["annotator"])
    return pano


@pytest.fixture
def client_for():
    """client_for(user) -> an APIClient authenticated as that user (None: anonymous)."""

    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make
