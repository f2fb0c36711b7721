"""Content-Security-Policy header on every response, with a per-request script nonce.

The default policy allows scripts only from this origin, plus inline ``<script>`` elements
that carry the request's nonce (``nonce="{{ request.csp_nonce }}"`` in a template; the page
shell has one, the theme switch that must run before the first paint). Styles may be inline
(``'unsafe-inline'``): the page shell, Django's admin and Swagger UI set ``style`` attributes
and ``<style>`` blocks, and styles cannot run code. Images may be ``data:``/``blob:`` URLs
(the workspace draws canvases into images). Nothing may frame the app.

``LABEL360_CSP`` replaces the policy (``{nonce}`` is substituted); an empty string turns the
header off. ``LABEL360_CSP_REPORT_ONLY`` sends it as ``…-Report-Only`` to try a policy out.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

DEFAULT_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Sets ``request.csp_nonce`` and the ``Content-Security-Policy`` response header (unless
    a view set its own)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = getattr(settings, "LABEL360_CSP", DEFAULT_POLICY)
        report_only = getattr(settings, "LABEL360_CSP_REPORT_ONLY", False)
        self.header = (
            "Content-Security-Policy-Report-Only" if report_only else "Content-Security-Policy"
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(18)
        request.csp_nonce = nonce
        response = self.get_response(request)
        if self.policy and self.header not in response:
            response[self.header] = self.policy.replace("{nonce}", nonce)
        return response
