"""Discoverable sign-in with a passkey: sessions, hooks, lockout and its refusals."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from crudauth import AuthHooks
from crudauth.ratelimit import LockoutConfig
from passkey_support import (
    SoftAuthenticator,
    b64url,
    passkey_login,
    register_passkey,
    sign_in_with_sudo,
)
from support import BOB, login


async def registered_app(make_passkey_app: Any, **kwargs: Any) -> tuple[Any, SoftAuthenticator]:
    test_app = await make_passkey_app(**kwargs)
    await test_app.create_user()
    authenticator = SoftAuthenticator()
    async with test_app.client() as client:
        await sign_in_with_sudo(client)
        await register_passkey(client, authenticator)
    return test_app, authenticator


async def test_sign_in_opens_a_passkey_session(make_passkey_app: Any) -> None:
    logins: list[Any] = []
    hooks = AuthHooks(on_after_login=lambda user, **kw: logins.append((user, kw["context"])))
    test_app, authenticator = await registered_app(make_passkey_app, hooks=hooks)
    logins.clear()
    async with test_app.client() as client:
        response = await passkey_login(client, authenticator)
        protected = await client.get("/protected")
        session_id = client.cookies.get("session_id") or ""
        listed = await client.get("/passkeys")

    assert response.status_code == 200, response.text
    assert response.json()["username"] == "alice"
    assert "csrf_token" in response.json()
    assert response.headers["cache-control"] == "no-store"
    assert protected.status_code == 200, protected.text
    record = await test_app.auth.sessions.get_session(session_id)
    assert record is not None
    assert record.metadata["login_type"] == "passkey"
    assert len(logins) == 1
    assert logins[0][0]["username"] == "alice"
    assert logins[0][1].transport == "passkey"
    assert listed.json()[0]["last_used_at"] is not None


async def test_sign_in_replaces_the_presented_session(make_passkey_app: Any) -> None:
    test_app, authenticator = await registered_app(make_passkey_app)
    async with test_app.client() as client:
        await login(client)
        old_session = client.cookies.get("session_id")
        response = await passkey_login(client, authenticator)
        new_session = client.cookies.get("session_id")
    manager = test_app.auth.sessions

    assert response.status_code == 200, response.text
    assert old_session and new_session and old_session != new_session
    assert await manager.get_session(old_session) is None
    assert await manager.get_session(new_session) is not None


async def test_sign_in_without_user_verification_fails(make_passkey_app: Any) -> None:
    test_app, authenticator = await registered_app(make_passkey_app)
    authenticator.user_verified = False
    async with test_app.client() as client:
        response = await passkey_login(client, authenticator)

    assert response.status_code == 401, response.text
    assert "session_id" not in client.cookies


async def test_replayed_challenge_is_rejected(make_passkey_app: Any) -> None:
    test_app, authenticator = await registered_app(make_passkey_app)
    async with test_app.client() as client:
        options = await client.post("/passkeys/login/options")
        assertion = authenticator.get(options.json())
        first = await client.post("/passkeys/login/verify", json={"credential": assertion})
        # The attacker also replays the binding cookie the first response removed.
        client.cookies.set("crudauth_passkey", options.cookies["crudauth_passkey"])
        replay = await client.post("/passkeys/login/verify", json={"credential": assertion})

    assert first.status_code == 200, first.text
    assert replay.status_code == 400, replay.text
    assert replay.json()["detail"].startswith("Invalid or expired passkey challenge")


async def test_challenge_from_another_browser_is_rejected(make_passkey_app: Any) -> None:
    test_app, authenticator = await registered_app(make_passkey_app)
    async with test_app.client() as victim, test_app.client() as attacker:
        options = await victim.post("/passkeys/login/options")
        await attacker.post("/passkeys/login/options")
        assertion = authenticator.get(options.json())
        response = await attacker.post("/passkeys/login/verify", json={"credential": assertion})
        no_cookie = test_app.client()
        async with no_cookie:
            options = await victim.post("/passkeys/login/options")
            missing = await no_cookie.post(
                "/passkeys/login/verify", json={"credential": authenticator.get(options.json())}
            )

    assert response.status_code == 400, response.text
    assert "another browser" in response.json()["detail"]
    assert "session_id" not in attacker.cookies
    assert missing.status_code == 400, missing.text
    assert "another browser" in missing.json()["detail"]


async def test_wrong_origin_is_rejected(make_passkey_app: Any) -> None:
    test_app, authenticator = await registered_app(make_passkey_app)
    async with test_app.client() as client:
        response = await passkey_login(client, authenticator, origin="https://evil.example")

    assert response.status_code == 401, response.text
    assert response.json()["detail"] == "Passkey verification failed"


async def test_wrong_rp_id_is_rejected(make_passkey_app: Any) -> None:
    test_app, authenticator = await registered_app(make_passkey_app)
    async with test_app.client() as client:
        response = await passkey_login(client, authenticator, rp_id="evil.example")

    assert response.status_code == 401, response.text


async def test_registration_for_wrong_origin_is_rejected(make_passkey_app: Any) -> None:
    test_app = await make_passkey_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await sign_in_with_sudo(client)
        from support import csrf_headers

        options = await client.post("/passkeys/register/options", headers=csrf_headers(client))
        credential = SoftAuthenticator().create(options.json(), origin="https://evil.example")
        response = await client.post(
            "/passkeys/register/verify",
            json={"credential": credential},
            headers=csrf_headers(client),
        )

    assert response.status_code == 400, response.text


async def test_sign_count_going_backwards_is_refused(
    make_passkey_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[Any] = []
    hooks = AuthHooks(on_security_event=lambda user_id, event, **kw: events.append(event))
    test_app, authenticator = await registered_app(make_passkey_app, hooks=hooks)
    async with test_app.client() as client:
        first = await passkey_login(client, authenticator, sign_count=5)
    caplog.set_level(logging.WARNING, logger="crudauth.security")
    async with test_app.client() as clone:
        cloned = await passkey_login(clone, authenticator, sign_count=3)
    async with test_app.client() as same:
        repeated = await passkey_login(same, authenticator, sign_count=5)

    assert first.status_code == 200, first.text
    assert cloned.status_code == 403, cloned.text
    assert "counter went backwards" in cloned.json()["detail"]
    assert "session_id" not in clone.cookies
    assert repeated.status_code == 403, repeated.text
    assert "sign count went backwards" in caplog.text
    assert "passkey_sign_count_rejected" in [e["type"] for e in events]


async def test_another_users_credential_cannot_sign_in_as_them(make_passkey_app: Any) -> None:
    test_app, alices_authenticator = await registered_app(make_passkey_app)
    await test_app.create_user(
        email=BOB["email"], username=BOB["username"], password=BOB["password"]
    )
    bobs_authenticator = SoftAuthenticator()
    async with test_app.client() as bob:
        await sign_in_with_sudo(bob, BOB["username"], BOB["password"])
        await register_passkey(bob, bobs_authenticator)
    alices_handle = alices_authenticator.credentials[0].user_handle
    async with test_app.client() as client:
        # Bob's key claims Alice's user handle: the credential still names Bob.
        response = await passkey_login(client, bobs_authenticator, user_handle=alices_handle)

    assert response.status_code == 401, response.text
    assert "session_id" not in client.cookies


async def test_unknown_credential_is_401(make_passkey_app: Any) -> None:
    test_app, _authenticator = await registered_app(make_passkey_app)
    stranger = SoftAuthenticator()
    async with test_app.client() as client:
        options = await client.post("/passkeys/login/options")
        stranger.create(
            {"rp": {"id": "testserver"}, "user": {"id": b64url(b"x")}, "challenge": "AA"}
        )
        response = await client.post(
            "/passkeys/login/verify", json={"credential": stranger.get(options.json())}
        )

    assert response.status_code == 401, response.text
    assert response.json()["detail"].startswith("Passkey not recognised")


async def test_failures_share_the_login_lockout(make_passkey_app: Any) -> None:
    lockout = LockoutConfig(max_attempts=2, attempt_window_seconds=60, lockout_base_seconds=60)
    test_app, authenticator = await registered_app(make_passkey_app, lockout=lockout)
    authenticator.user_verified = False
    async with test_app.client() as client:
        statuses = [(await passkey_login(client, authenticator)).status_code for _ in range(3)]
        authenticator.user_verified = True
        locked = await passkey_login(client, authenticator)
        password = await login(client)

    assert statuses[:2] == [401, 401]
    assert statuses[2] == 429
    assert locked.status_code == 429, locked.text
    assert password.status_code == 429, password.text


async def test_cross_site_sign_in_is_refused(make_passkey_app: Any) -> None:
    test_app, authenticator = await registered_app(make_passkey_app)
    async with test_app.client() as client:
        options = await client.post("/passkeys/login/options")
        response = await client.post(
            "/passkeys/login/verify",
            json={"credential": authenticator.get(options.json())},
            headers={"Sec-Fetch-Site": "cross-site"},
        )

    assert response.status_code == 403, response.text


@pytest.mark.parametrize(
    "credential",
    [
        {},
        {"id": "AA", "rawId": "AA", "type": "password", "response": {}},
        {"id": "!!", "rawId": "!!", "type": "public-key", "response": {}},
        {"id": "AA", "rawId": "AA", "type": "public-key", "response": "text"},
        {
            "id": "AA",
            "rawId": "AA",
            "type": "public-key",
            "response": {"clientDataJSON": "***", "authenticatorData": "AA", "signature": "AA"},
        },
        {
            "id": "AA",
            "rawId": "AA",
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(b"[1]"),
                "authenticatorData": "AA",
                "signature": "AA",
            },
        },
        {
            "id": "AA",
            "rawId": "AA",
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(b"{}"),
                "authenticatorData": "AA",
                "signature": "AA",
            },
        },
    ],
)
async def test_malformed_credential_is_400(make_passkey_app: Any, credential: Any) -> None:
    test_app = await make_passkey_app()
    async with test_app.client() as client:
        await client.post("/passkeys/login/options")
        response = await client.post("/passkeys/login/verify", json={"credential": credential})

    assert response.status_code == 400, response.text
    assert isinstance(response.json()["detail"], str)


async def test_wrong_body_type_is_422(make_passkey_app: Any) -> None:
    test_app = await make_passkey_app()
    async with test_app.client() as client:
        response = await client.post("/passkeys/login/verify", json={"credential": "text"})

    assert response.status_code == 422, response.text
    assert "detail" in response.json()
