"""API tokens that expire and are revoked when their user's password changes.

REST framework's tokens live forever. Here a token older than ``LABEL360_TOKEN_MAX_AGE_HOURS``
(0: never) is refused and deleted; ``POST /api/auth/token/`` then hands out a fresh one (and
says when it expires). Changing a user's password (``set_password`` + ``save``, the admin, the
``changepassword`` command, a password reset) deletes that user's tokens, as Django already
ends their other sessions through the session's password hash. A hasher upgrade on sign-in
rewrites the stored hash too and so also revokes: a client then asks for a new token once.

The endpoint is in ``tokenviews`` (this module is named in REST framework's settings and must
not import its views).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


def max_age() -> timedelta | None:
    """How long a token is valid, or None when tokens do not expire."""
    hours = float(getattr(settings, "LABEL360_TOKEN_MAX_AGE_HOURS", 0))
    return timedelta(hours=hours) if hours > 0 else None


def expires_at(token: Token) -> datetime | None:
    age = max_age()
    return None if age is None else token.created + age


def is_expired(token: Token) -> bool:
    end = expires_at(token)
    return end is not None and timezone.now() >= end


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token …`` that refuses (and deletes) tokens past their age."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if is_expired(token):
            token.delete()
            raise AuthenticationFailed("Token has expired; ask for a new one at /api/auth/token/.")
        return user, token

    def authenticate_header(self, request) -> str | None:
        """The challenge that makes DRF answer 401: only for a client that sent an
        ``Authorization`` header (a missing, expired or revoked token). Browser requests,
        which authenticate by session and send no such header, keep DRF's 403."""
        return self.keyword if request.META.get("HTTP_AUTHORIZATION") else None


_PASSWORD_CHANGED = "_label360_password_changed"


def _remember_password_change(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or instance.pk is None:
        return
    if update_fields is not None and "password" not in update_fields:
        return  # e.g. the last_login update on every sign-in: no extra query
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    setattr(instance, _PASSWORD_CHANGED, stored is not None and stored != instance.password)


def _revoke_tokens(sender, instance, created=False, raw=False, **kwargs) -> None:
    if getattr(instance, _PASSWORD_CHANGED, False):
        Token.objects.filter(user=instance).delete()
        setattr(instance, _PASSWORD_CHANGED, False)


def connect() -> None:
    """Revoke a user's tokens when their password changes (called from the app's ready)."""
    user_model = get_user_model()
    pre_save.connect(
        _remember_password_change, sender=user_model, dispatch_uid="label360.tokens.pre"
    )
    post_save.connect(_revoke_tokens, sender=user_model, dispatch_uid="label360.tokens.post")
