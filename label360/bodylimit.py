"""Bounded request bodies: a body over the configured size is refused before anything reads it.

Django's own ``DATA_UPLOAD_MAX_MEMORY_SIZE`` guards ``request.body`` and form parsing, but
REST framework parses JSON straight from the request stream, so nothing bounds it there.
This middleware answers 413 from the ``Content-Length`` header alone for every body that is not
a multipart upload (multipart files stream to temporary files; each upload view bounds its
files). A body without a length is never read beyond what the server hands over.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class RequestBodyLimitMiddleware:
    """413 for non-multipart bodies over ``LABEL360_MAX_JSON_BODY_BYTES``; 400 for a bad
    ``Content-Length``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.META.get("CONTENT_TYPE", "").startswith("multipart/"):
            raw = request.META.get("CONTENT_LENGTH") or "0"
            try:
                length = int(raw)
            except ValueError:
                return JsonResponse({"detail": "Content-Length is not a number."}, status=400)
            limit = getattr(settings, "LABEL360_MAX_JSON_BODY_BYTES", 64 * 1024 * 1024)
            if length > limit:
                return JsonResponse(
                    {
                        "detail": f"The request body has {length} bytes; at most {limit} "
                        "are accepted."
                    },
                    status=413,
                )
        return self.get_response(request)
