"""Issue 19: the pure parts of sign-in and sessions: the cookie's flags, msal's answers read,
when a token is refreshed, and tokens never printed."""

from __future__ import annotations

import time

import jwt
import pytest
from pydantic import SecretStr

from services.overview.login import REFRESH_MARGIN_SECONDS, SignInFailed, needs_refresh, tokens_of
from services.overview.sessions import CookiePolicy, Session


def test_cookies_are_secure_except_over_http_on_this_machine() -> None:
    assert CookiePolicy.for_url("https://oversikt.sakspost.ha.kommune.no").secure
    assert CookiePolicy.for_url("http://oversikt.example.org").secure
    assert not CookiePolicy.for_url("http://127.0.0.1:8085").secure
    assert not CookiePolicy.for_url("http://localhost:8085").secure
    options = CookiePolicy(secure=True).options(60)
    assert (options["httponly"], options["samesite"]) == (True, "lax")


def test_msals_answer_gives_the_tokens_or_a_refusal() -> None:
    expires = int(time.time()) + 3600
    id_token = jwt.encode({"exp": expires}, "k" * 32, algorithm="HS256")
    tokens = tokens_of({"id_token": id_token, "refresh_token": "r-1"})
    assert tokens.id_token.get_secret_value() == id_token
    assert tokens.refresh_token is not None
    assert tokens.expires == expires
    with pytest.raises(SignInFailed) as refused:
        tokens_of({"error": "invalid_grant", "error_description": "AADSTS70008"})
    assert refused.value.reason == "invalid_grant"


def test_a_token_is_refreshed_shortly_before_it_expires() -> None:
    now = 1_000_000.0
    assert not needs_refresh(now + REFRESH_MARGIN_SECONDS + 1, now)
    assert needs_refresh(now + REFRESH_MARGIN_SECONDS - 1, now)
    assert needs_refresh(now - 1, now)


def test_a_session_never_prints_its_tokens_but_keeps_them() -> None:
    session = Session(
        actor_id="rune.bo",
        actor_name="Rune Bø",
        actor_kind="person",
        id_token=SecretStr("id-token-secret"),
        id_token_expires=0,
        refresh_token=SecretStr("refresh-secret"),
        language="nn",
        csrf="c" * 32,
    )
    assert "secret" not in repr(session)
    assert "secret" not in str(session)
    again = Session.model_validate_json(session.dump())
    assert again.id_token.get_secret_value() == "id-token-secret"
    assert again.checks("c" * 32)
    assert not again.checks("d" * 32)
    assert not again.checks(None)
