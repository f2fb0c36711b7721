"""OpenAPI schema generation helpers.

Without a request (``manage.py spectacular``, the deploy check), drf-spectacular builds each
view with an anonymous user, and every queryset that is scoped to the user's projects fails
to build, so the generator cannot see the models behind the views. ``mock_request`` gives
those views an unsaved administrator instead: querysets are built (never evaluated) and the
schema is the same as the one served to a signed-in user.
"""

from __future__ import annotations

from drf_spectacular.plumbing import build_mock_request


def mock_request(method, path, view, original_request, **kwargs):
    request = build_mock_request(method, path, view, original_request, **kwargs)
    if original_request is None:
        from django.contrib.auth import get_user_model

        request.user = get_user_model()(id=0, username="schema", is_staff=True, is_superuser=True)
    return request
