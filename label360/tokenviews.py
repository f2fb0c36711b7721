"""``/api/auth/token/``: username and password for an expiring API token (``tokens``), with
failed attempts throttled per client IP and username (``loginthrottle``)."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework.settings import api_settings

from .loginthrottle import LoginFailureThrottle, clear_username
from .tokens import ExpiringTokenAuthentication, expires_at, is_expired

_TOKEN_RESPONSE = inline_serializer(
    "AuthTokenResponse",
    {
        "token": serializers.CharField(),
        "expires": serializers.DateTimeField(allow_null=True),
    },
)


class ObtainExpiringAuthToken(ObtainAuthToken):
    """``POST`` username and password → ``{token, expires}`` (a fresh token when the stored
    one expired); throttled per client IP and username. ``DELETE`` with a token revokes it."""

    throttle_classes = (LoginFailureThrottle,)
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: _TOKEN_RESPONSE},
        auth=[],
        description="A token for this username and password, and when it expires (null: "
        "never). 429 with Retry-After after too many failures from this address or for this "
        "username.",
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        # a token is a sign-in without django.contrib.auth.login (no user_logged_in signal)
        clear_username(user.get_username())
        with transaction.atomic():
            token, created = Token.objects.select_for_update().get_or_create(user=user)
            if not created and is_expired(token):
                token.delete()
                token = Token.objects.create(user=user)
        end = expires_at(token)
        return Response({"token": token.key, "expires": end.isoformat() if end else None})

    @extend_schema(
        request=None, responses={204: None}, description="Revoke the token sent in the header."
    )
    def delete(self, request, *args, **kwargs):
        if not isinstance(request.auth, Token):
            raise AuthenticationFailed("Send the token to revoke in the Authorization header.")
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def get_authenticate_header(self, request) -> str:
        return ExpiringTokenAuthentication.keyword  # a token endpoint always challenges: 401

    def get_authenticators(self):
        # POST must work without credentials and despite stale ones (an expired token in the
        # header would otherwise answer 401 to the request that replaces it); only DELETE
        # names the token it revokes
        request = getattr(self, "request", None)
        if request is not None and request.method == "POST":
            return []
        return [ExpiringTokenAuthentication()]
