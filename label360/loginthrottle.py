"""Throttling of failed sign-ins, per client IP and per username, counted in Django's cache.

Every sign-in path (the API token endpoint, the login page, the admin login) ends in
``django.contrib.auth.authenticate``, which sends ``user_login_failed`` on a wrong password or
an unknown user. Each failure is recorded under two keys: the client's IP and the username.
When either key holds ``LABEL360_LOGIN_FAILURE_LIMIT`` failures younger than
``LABEL360_LOGIN_FAILURE_WINDOW`` seconds, further attempts are refused with 429 and a
``Retry-After`` *before* the password is checked, so a correct password does not get through
either (otherwise the 429 stopping would tell the attacker they found it). A successful
sign-in clears its username's failures, never its IP's (a user who knows their own password
could otherwise reset the counter of an IP that guesses other accounts).

The API uses :class:`LoginFailureThrottle` (a REST framework throttle); the two form logins
use :class:`LoginThrottleMiddleware`. With several web processes the cache must be shared
(``CACHE_URL=redis://…``); a per-process cache multiplies the limit by the process count.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from rest_framework.throttling import BaseThrottle

KEY_PREFIX = "label360:login-failures"


def _now() -> float:
    return time.time()


def _limit() -> int:
    return max(1, int(getattr(settings, "LABEL360_LOGIN_FAILURE_LIMIT", 10)))


def _window() -> float:
    return max(1.0, float(getattr(settings, "LABEL360_LOGIN_FAILURE_WINDOW", 300)))


def client_ip(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or with ``LABEL360_NUM_PROXIES`` = n > 0
    trusted proxies in front, the n-th address from the right of ``X-Forwarded-For`` (the
    leftmost entries are whatever the client sent, so they are never trusted)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = int(getattr(settings, "LABEL360_NUM_PROXIES", 0))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    addresses = [part.strip() for part in forwarded.split(",")]
    return addresses[-min(proxies, len(addresses))] or remote


def _digest(value: str) -> str:
    # hashed: the key stays short whatever the client sent, and holds no username in clear
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _ip_key(request: HttpRequest) -> str:
    return f"{KEY_PREFIX}:ip:{_digest(client_ip(request))}"


def _user_key(username: str) -> str:
    return f"{KEY_PREFIX}:user:{_digest(username.casefold())}"


def _keys(request: HttpRequest | None, username: str | None) -> list[str]:
    keys = [] if request is None else [_ip_key(request)]
    if username:
        keys.append(_user_key(username))
    return keys


def _recent(key: str, now: float) -> list[float]:
    stored = cache.get(key)
    if not isinstance(stored, list):
        return []
    return [t for t in stored if isinstance(t, int | float) and now - _window() < t <= now]


def retry_after(request: HttpRequest | None, username: str | None) -> int | None:
    """Seconds until this client/username may try again, or None when it may try now."""
    now, limit, wait = _now(), _limit(), 0.0
    for key in _keys(request, username):
        times = _recent(key, now)
        if len(times) >= limit:
            # the attempt is allowed again when the oldest of the last `limit` failures expires
            wait = max(wait, times[-limit] + _window() - now)
    return max(1, math.ceil(wait)) if wait > 0 else None


def record_failure(request: HttpRequest | None, username: str | None) -> None:
    now, limit = _now(), _limit()
    for key in _keys(request, username):
        # keep only the last `limit` failures: that is all retry_after needs, and it bounds the
        # entry's size whatever a client sends
        times = (_recent(key, now) + [now])[-limit:]
        cache.set(key, times, timeout=math.ceil(_window()) + 1)


def clear_username(username: str) -> None:
    cache.delete(_user_key(username))


def _username_of(credentials: dict | None) -> str | None:
    value = (credentials or {}).get("username")
    return value if isinstance(value, str) else None


@receiver(user_login_failed, dispatch_uid="label360.loginthrottle.failed")
def _on_login_failed(sender, credentials=None, request=None, **kwargs) -> None:
    # authenticate() without a request (management commands, tests' client.login) is no client
    if request is not None:
        record_failure(request, _username_of(credentials))


@receiver(user_logged_in, dispatch_uid="label360.loginthrottle.succeeded")
def _on_logged_in(sender, request=None, user=None, **kwargs) -> None:
    if user is not None:
        clear_username(user.get_username())


class LoginFailureThrottle(BaseThrottle):
    """REST framework throttle of the token endpoint: refuses a client IP or username with
    too many recent failures (429 with ``Retry-After``)."""

    def allow_request(self, request, view) -> bool:
        data = request.data if request.method == "POST" else {}
        username = data.get("username") if hasattr(data, "get") else None
        self._wait = retry_after(request, username if isinstance(username, str) else None)
        return self._wait is None

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


def _form_login_paths() -> set[str]:
    paths = set()
    for name in ("login", "admin:login"):
        try:
            paths.add(reverse(name))
        except NoReverseMatch:
            continue
    return paths


def too_many_attempts_page(seconds: int) -> HttpResponse:
    """The plain 429 page of a throttled form login."""
    text = escape(f"Too many failed sign-ins. Try again in {seconds} seconds.")
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Too many attempts</title>"
        f"<p>{text}</p></html>"
    )
    response = HttpResponse(body, status=429, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(seconds)
    return response


class LoginThrottleMiddleware:
    """429 for a POST to the login page or the admin login from a throttled IP or username,
    before the form checks the password."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path_info in _form_login_paths():
            username = request.POST.get("username")
            seconds = retry_after(request, username)
            if seconds is not None:
                return too_many_attempts_page(seconds)
        return self.get_response(request)
