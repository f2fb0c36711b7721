"""Sign-in hardening: failed logins throttled per client IP and per username (the token
endpoint, the login page, the admin login), API tokens that expire and are revoked by a
password change."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from label360 import loginthrottle

from ..factories import PASSWORD, make_user

TOKEN_URL = "/api/auth/token/"
LOGIN_URL = "/accounts/login/"
ADMIN_LOGIN_URL = "/admin/login/"
LIMIT = 10


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, moved by hand."""
    now = {"t": 1_000_000.0}
    monkeypatch.setattr(loginthrottle, "_now", lambda: now["t"])
    return now


def _token(username: str, password: str, ip: str = "10.0.0.1", client=None):
    client = client or APIClient()
    return client.post(
        TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=ip
    )


def _form_login(url: str, username: str, password: str, ip: str = "10.0.0.1"):
    return Client().post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


# --- token endpoint ----------------------------------------------------------------------


def test_token_endpoint_refuses_the_11th_bad_attempt_and_recovers_after_the_window(db, clock):
    alice = make_user("alice")
    for _ in range(LIMIT):
        assert _token("alice", "wrong").status_code == 400
    refused = _token("alice", "wrong")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 300
    # refused before the password is checked: the right one does not get through either
    assert _token("alice", PASSWORD).status_code == 429

    clock["t"] += 299
    assert _token("alice", PASSWORD).status_code == 429
    clock["t"] += 2  # the window (300 s) has passed since the failures
    good = _token("alice", PASSWORD)
    assert good.status_code == 200
    assert good.json()["token"] == Token.objects.get(user=alice).key


def test_other_users_and_clients_are_not_affected(db, clock):
    make_user("alice")
    make_user("bob")
    for _ in range(LIMIT):
        _token("alice", "wrong", ip="10.0.0.1")
    assert _token("alice", "wrong", ip="10.0.0.1").status_code == 429
    # another user from another address: unaffected
    assert _token("bob", PASSWORD, ip="10.0.0.2").status_code == 200
    # the guessed username is throttled from every address; the guessing address for every user
    assert _token("alice", PASSWORD, ip="10.0.0.3").status_code == 429
    assert _token("bob", PASSWORD, ip="10.0.0.1").status_code == 429


def test_one_address_guessing_many_usernames_is_throttled(db, clock):
    make_user("bob")
    for k in range(LIMIT):
        assert _token(f"user{k}", "wrong", ip="10.0.0.9").status_code == 400
    assert _token("bob", PASSWORD, ip="10.0.0.9").status_code == 429
    assert _token("bob", PASSWORD, ip="10.0.0.8").status_code == 200


def test_forwarded_for_is_only_trusted_with_declared_proxies(db, clock, settings):
    make_user("bob")
    # no proxies declared: a client cannot pick a fresh identity with X-Forwarded-For
    for k in range(LIMIT):
        response = APIClient().post(
            TOKEN_URL,
            {"username": f"u{k}", "password": "x"},
            format="json",
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{k}",
        )
        assert response.status_code == 400
    assert _token("bob", PASSWORD, ip="10.0.0.5").status_code == 429

    # one trusted proxy: the address it appended is the client's
    cache.clear()
    settings.LABEL360_NUM_PROXIES = 1
    for k in range(LIMIT):
        APIClient().post(
            TOKEN_URL,
            {"username": f"v{k}", "password": "x"},
            format="json",
            REMOTE_ADDR="10.0.0.254",
            HTTP_X_FORWARDED_FOR=f"spoofed-{k}, 198.51.100.7",
        )
    behind = APIClient().post(
        TOKEN_URL,
        {"username": "bob", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="10.0.0.254",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert behind.status_code == 429
    other = APIClient().post(
        TOKEN_URL,
        {"username": "bob", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="10.0.0.254",
        HTTP_X_FORWARDED_FOR="198.51.100.8",
    )
    assert other.status_code == 200


def test_a_successful_sign_in_clears_its_username_but_not_its_address(db, clock):
    make_user("alice")
    for _ in range(LIMIT - 1):
        _token("alice", "wrong", ip="10.0.0.1")
    assert _token("alice", PASSWORD, ip="10.0.0.2").status_code == 200
    for _ in range(LIMIT - 1):
        assert _token("alice", "wrong", ip="10.0.0.3").status_code == 400
    # address 10.0.0.1 still has its 9 failures: one more and it is throttled
    assert _token("nobody", "wrong", ip="10.0.0.1").status_code == 400
    assert _token("alice", PASSWORD, ip="10.0.0.1").status_code == 429


# --- form logins -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "staff"), [(LOGIN_URL, False), (ADMIN_LOGIN_URL, True)], ids=["login", "admin"]
)
def test_form_logins_refuse_the_11th_bad_attempt(db, clock, url, staff):
    make_user("carol", staff=staff)
    make_user("dave", staff=staff)
    for _ in range(LIMIT):
        response = _form_login(url, "carol", "wrong")
        assert response.status_code == 200  # the form again, with its error
    refused = _form_login(url, "carol", "wrong")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 300
    assert b"Too many failed sign-ins" in refused.content
    assert _form_login(url, "carol", PASSWORD).status_code == 429
    # another user elsewhere signs in
    assert _form_login(url, "dave", PASSWORD, ip="10.0.0.2").status_code == 302
    # reading the page is never refused
    assert Client().get(url, REMOTE_ADDR="10.0.0.1").status_code == 200

    clock["t"] += 301
    assert _form_login(url, "carol", PASSWORD).status_code == 302


def test_failures_add_up_across_the_three_sign_in_paths(db, clock):
    make_user("erin", staff=True)
    for k in range(LIMIT):
        url = (TOKEN_URL, LOGIN_URL, ADMIN_LOGIN_URL)[k % 3]
        if url == TOKEN_URL:
            _token("erin", "wrong", ip=f"10.1.0.{k}")
        else:
            _form_login(url, "erin", "wrong", ip=f"10.1.0.{k}")
    assert _form_login(ADMIN_LOGIN_URL, "erin", PASSWORD, ip="10.2.0.1").status_code == 429
    assert _token("erin", PASSWORD, ip="10.2.0.2").status_code == 429


# --- token expiry and revocation ---------------------------------------------------------


def _api(token: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_tokens_expire_after_the_configured_age(db, settings):
    settings.LABEL360_TOKEN_MAX_AGE_HOURS = 2
    make_user("frank")
    issued = _token("frank", PASSWORD)
    key = issued.json()["token"]
    token = Token.objects.get(key=key)
    expires = timezone.datetime.fromisoformat(issued.json()["expires"])
    assert expires == token.created + timedelta(hours=2)
    assert _api(key).get("/api/projects/").status_code == 200

    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(hours=2, seconds=1))
    expired = _api(key).get("/api/projects/")
    # 401 with a challenge: the client sent a token, and it must ask for a new one
    assert expired.status_code == 401 and expired["WWW-Authenticate"] == "Token"
    assert "expired" in expired.json()["detail"]
    assert not Token.objects.filter(key=key).exists()

    # a client holding the expired token (even in its header) simply asks for a new one
    renewed = _token("frank", PASSWORD, client=_api(key))
    assert renewed.status_code == 200 and renewed.json()["token"] != key
    assert _api(renewed.json()["token"]).get("/api/projects/").status_code == 200


def test_a_bad_token_is_401_while_a_browser_without_one_keeps_403(db, client):
    bad = _api("0" * 40).get("/api/projects/")
    assert bad.status_code == 401 and bad["WWW-Authenticate"] == "Token"
    assert client.get("/api/projects/").status_code == 403  # no header: no challenge


def test_an_expired_token_is_replaced_when_a_new_one_is_asked_for(db, settings):
    settings.LABEL360_TOKEN_MAX_AGE_HOURS = 1
    user = make_user("gina")
    old = Token.objects.create(user=user)
    Token.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(hours=3))
    fresh = _token("gina", PASSWORD).json()["token"]
    assert fresh != old.key and list(Token.objects.filter(user=user)) == [
        Token.objects.get(key=fresh)
    ]
    # still valid: asking again returns the same token
    assert _token("gina", PASSWORD).json()["token"] == fresh


def test_max_age_zero_means_tokens_do_not_expire(db, settings):
    settings.LABEL360_TOKEN_MAX_AGE_HOURS = 0
    make_user("hank")
    issued = _token("hank", PASSWORD).json()
    assert issued["expires"] is None
    Token.objects.filter(key=issued["token"]).update(created=timezone.now() - timedelta(days=900))
    assert _api(issued["token"]).get("/api/projects/").status_code == 200


def test_a_password_change_revokes_tokens_and_sessions(db):
    user = make_user("ivy")
    key = _token("ivy", PASSWORD).json()["token"]
    browser = Client()
    browser.force_login(user)
    assert browser.get("/api/projects/").status_code == 200

    # saving other fields (the sign-in's last_login update, a profile edit) keeps the token
    Client().login(username="ivy", password=PASSWORD)
    user.refresh_from_db()
    user.first_name = "Ivy"
    user.save()
    assert Token.objects.filter(key=key).exists()

    user.set_password("a-new-password-1")
    user.save()
    assert not Token.objects.filter(user=user).exists()
    assert _api(key).get("/api/projects/").json()["detail"] == "Invalid token."
    assert browser.get("/api/projects/").status_code == 403  # the session ended too


def test_a_password_changed_in_the_admin_revokes_tokens(db):
    admin = make_user("root", staff=True)
    user = make_user("jack")
    key = _token("jack", PASSWORD).json()["token"]
    client = Client()
    client.force_login(admin)
    response = client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {
            "password1": "Another-pass-123",
            "password2": "Another-pass-123",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content[:500]
    assert get_user_model().objects.get(pk=user.pk).check_password("Another-pass-123")
    assert not Token.objects.filter(key=key).exists()


def test_delete_revokes_the_token_it_is_sent_with(db):
    make_user("kim")
    key = _token("kim", PASSWORD).json()["token"]
    assert APIClient().delete(TOKEN_URL).status_code == 401
    assert _api(key).delete(TOKEN_URL).status_code == 204
    assert not Token.objects.filter(key=key).exists()
    assert _api(key).get("/api/projects/").json()["detail"] == "Invalid token."


# --- hostile bodies ----------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=300)
)
bodies = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(
        st.sampled_from(["username", "password", "x"]),
        st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(), scalars)),
        max_size=3,
    ),
)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(body=bodies)
def test_token_endpoint_answers_hostile_bodies_without_a_server_error(body):
    # json.dumps escapes lone surrogates, so they reach the parser as \ud800 escapes
    response = APIClient().post(
        TOKEN_URL, json.dumps(body), content_type="application/json", REMOTE_ADDR="10.9.9.9"
    )
    assert response.status_code in {400, 429}, response.content


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    url=st.sampled_from([LOGIN_URL, ADMIN_LOGIN_URL]),
    username=st.text(max_size=400),
    password=st.text(max_size=100),
)
def test_form_logins_answer_any_credentials_without_a_server_error(url, username, password):
    response = Client().post(
        url, {"username": username, "password": password}, REMOTE_ADDR="10.9.9.8"
    )
    assert response.status_code in {200, 429}, response.content[:300]
