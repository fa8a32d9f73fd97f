"""Enrolling, confirming, disabling and regenerating codes through the ``/mfa`` routes."""

from __future__ import annotations

from typing import Any

import pyotp

from crudauth import AuthHooks
from crudauth.ratelimit import RateLimit
from mfa_support import FrozenClock, code_at, enrol, mfa_config
from support import csrf_headers, login


async def signed_in(
    test_app: Any, client: Any, secret: str | None = None, clock: FrozenClock | None = None
) -> None:
    """Sign in, answering the MFA challenge with a code of ``secret`` when one comes."""
    response = await login(client)
    assert response.status_code == 200, response.text
    if response.json().get("mfa_required"):
        assert secret is not None and clock is not None
        verify = await client.post(
            "/mfa/verify",
            json={"challenge": response.json()["challenge"], "code": code_at(secret, clock())},
        )
        assert verify.status_code == 200, verify.text
        clock.advance(30)


async def test_status_needs_authentication(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app()
    async with test_app.client() as client:
        response = await client.get("/mfa")
    assert response.status_code == 401, response.text


async def test_status_of_new_account(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await signed_in(test_app, client)
        response = await client.get("/mfa")
    assert response.status_code == 200, response.text
    assert response.json() == {"enabled": False, "required": False, "recovery_codes_remaining": 0}


async def test_setup_needs_the_password(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await signed_in(test_app, client)
        missing = await client.post("/mfa/totp/setup", json={}, headers=csrf_headers(client))
        wrong = await client.post(
            "/mfa/totp/setup", json={"password": "wrong"}, headers=csrf_headers(client)
        )
    for response in (missing, wrong):
        assert response.status_code == 401, response.text
        assert response.json() == {"detail": "Incorrect password"}


async def test_setup_needs_the_csrf_header(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await signed_in(test_app, client)
        response = await client.post("/mfa/totp/setup", json={"password": "Correct-Horse-1"})
    assert response.status_code == 403, response.text


async def test_setup_returns_secret_and_uri(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app()
    user = await test_app.create_user()
    async with test_app.client() as client:
        await signed_in(test_app, client)
        response = await client.post(
            "/mfa/totp/setup", json={"password": "Correct-Horse-1"}, headers=csrf_headers(client)
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"secret", "otpauth_uri"}
    assert len(body["secret"]) == 32
    assert "=" not in body["secret"]
    assert body["otpauth_uri"].startswith("otpauth://totp/Example%20App%3Aalice%40example.com?")
    parsed = pyotp.parse_uri(body["otpauth_uri"])
    assert parsed.secret == body["secret"]
    assert parsed.issuer == "Example App"
    stored = await test_app.get_user(user.id)
    # Only ciphertext reaches the database, and the setup is not yet confirmed.
    assert body["secret"] not in stored.totp_secret_encrypted
    assert stored.totp_confirmed_at is None


async def test_confirm_enables_and_returns_codes_once(
    make_mfa_app: Any, clock: FrozenClock
) -> None:
    enabled: list[dict[str, Any]] = []
    hooks = AuthHooks(on_after_mfa_enabled=lambda user, **_: enabled.append(user))
    test_app = await make_mfa_app(hooks=hooks)
    await test_app.create_user()
    async with test_app.client() as client:
        await signed_in(test_app, client)
        setup = await client.post(
            "/mfa/totp/setup", json={"password": "Correct-Horse-1"}, headers=csrf_headers(client)
        )
        secret = setup.json()["secret"]
        wrong = await client.post(
            "/mfa/totp/confirm", json={"code": "000000"}, headers=csrf_headers(client)
        )
        confirmed = await client.post(
            "/mfa/totp/confirm",
            json={"code": code_at(secret, clock())},
            headers=csrf_headers(client),
        )
        status = await client.get("/mfa")
        again = await client.post(
            "/mfa/totp/confirm",
            json={"code": code_at(secret, clock())},
            headers=csrf_headers(client),
        )
        setup_again = await client.post(
            "/mfa/totp/setup", json={"password": "Correct-Horse-1"}, headers=csrf_headers(client)
        )
    assert wrong.status_code == 401, wrong.text
    assert wrong.json() == {"detail": "Invalid code"}
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert status.json() == {"enabled": True, "required": False, "recovery_codes_remaining": 10}
    assert again.status_code == 400, again.text
    assert again.json() == {"detail": "Two-factor authentication is already enabled."}
    assert setup_again.status_code == 400, setup_again.text
    assert len(enabled) == 1
    assert "totp_secret_encrypted" not in enabled[0]
    assert "mfa_recovery_codes" not in enabled[0]


async def test_confirm_without_pending_setup(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await signed_in(test_app, client)
        response = await client.post(
            "/mfa/totp/confirm", json={"code": "123456"}, headers=csrf_headers(client)
        )
    assert response.status_code == 400, response.text
    assert response.json() == {"detail": "No authenticator setup is pending."}


async def test_confirm_rejects_a_recovery_style_code(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await signed_in(test_app, client)
        await client.post(
            "/mfa/totp/setup", json={"password": "Correct-Horse-1"}, headers=csrf_headers(client)
        )
        response = await client.post(
            "/mfa/totp/confirm", json={"code": "abcd-efgh-jkmn-pqrs"}, headers=csrf_headers(client)
        )
    assert response.status_code == 401, response.text


async def test_disable_with_totp(make_mfa_app: Any, clock: FrozenClock) -> None:
    disabled: list[Any] = []
    test_app = await make_mfa_app(
        hooks=AuthHooks(on_after_mfa_disabled=lambda user, **kw: disabled.append(kw))
    )
    user = await test_app.create_user()
    secret, _codes = await enrol(test_app, user.id, clock)
    async with test_app.client() as client:
        await signed_in(test_app, client, secret, clock)
        wrong = await client.post(
            "/mfa/totp/disable", json={"code": "000000"}, headers=csrf_headers(client)
        )
        response = await client.post(
            "/mfa/totp/disable",
            json={"code": code_at(secret, clock())},
            headers=csrf_headers(client),
        )
        status = await client.get("/mfa")
    assert wrong.status_code == 401, wrong.text
    assert response.status_code == 200, response.text
    assert response.json() == {"detail": "Two-factor authentication disabled."}
    assert status.json()["enabled"] is False
    stored = await test_app.get_user(user.id)
    assert stored.totp_secret_encrypted is None
    assert stored.totp_confirmed_at is None
    assert stored.totp_last_step is None
    assert stored.mfa_recovery_codes is None
    assert len(disabled) == 1
    assert disabled[0]["context"].transport == "session"
    assert disabled[0]["context"].ip_address is not None


async def test_disable_with_recovery_code_consumes_it(
    make_mfa_app: Any, clock: FrozenClock
) -> None:
    used: list[Any] = []
    test_app = await make_mfa_app(
        hooks=AuthHooks(on_after_recovery_code_used=lambda user, **kw: used.append(user))
    )
    user = await test_app.create_user()
    secret, codes = await enrol(test_app, user.id, clock)
    async with test_app.client() as client:
        await signed_in(test_app, client, secret, clock)
        response = await client.post(
            "/mfa/totp/disable", json={"code": codes[0].upper()}, headers=csrf_headers(client)
        )
    assert response.status_code == 200, response.text
    assert len(used) == 1


async def test_disable_when_not_enrolled_is_401(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await signed_in(test_app, client)
        response = await client.post(
            "/mfa/totp/disable", json={"code": "123456"}, headers=csrf_headers(client)
        )
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Invalid code"}


async def test_disable_refused_when_required(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app = await make_mfa_app(mfa=mfa_config(required=True))
    user = await test_app.create_user()
    secret, _codes = await enrol(test_app, user.id, clock)
    async with test_app.client() as client:
        challenge = (await login(client)).json()["challenge"]
        await client.post(
            "/mfa/verify", json={"challenge": challenge, "code": code_at(secret, clock())}
        )
        clock.advance(30)
        # Checked before the code: even a right code cannot turn required MFA off.
        response = await client.post(
            "/mfa/totp/disable",
            json={"code": code_at(secret, clock())},
            headers=csrf_headers(client),
        )
    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "Two-factor authentication is required for this account."}


async def test_regenerate_recovery_codes(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app = await make_mfa_app()
    user = await test_app.create_user()
    secret, old_codes = await enrol(test_app, user.id, clock)
    async with test_app.client() as client:
        await signed_in(test_app, client, secret, clock)
        wrong = await client.post(
            "/mfa/recovery-codes/regenerate", json={"code": "000000"}, headers=csrf_headers(client)
        )
        response = await client.post(
            "/mfa/recovery-codes/regenerate",
            json={"code": code_at(secret, clock())},
            headers=csrf_headers(client),
        )
        old_code = await client.post(
            "/mfa/recovery-codes/regenerate",
            json={"code": old_codes[1]},
            headers=csrf_headers(client),
        )
    assert wrong.status_code == 401, wrong.text
    assert response.status_code == 200, response.text
    new_codes = response.json()["recovery_codes"]
    assert len(new_codes) == 10
    assert not set(new_codes) & set(old_codes)
    assert old_code.status_code == 401, old_code.text


async def test_regenerate_when_not_enrolled(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await signed_in(test_app, client)
        response = await client.post(
            "/mfa/recovery-codes/regenerate", json={"code": "123456"}, headers=csrf_headers(client)
        )
    assert response.status_code == 400, response.text
    assert response.json() == {"detail": "Two-factor authentication isn't enabled."}


async def test_manage_routes_are_rate_limited(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app(rate_limits={"mfa_manage": RateLimit(2, 3600)})
    await test_app.create_user()
    async with test_app.client() as client:
        await signed_in(test_app, client)
        statuses = []
        for _ in range(3):
            response = await client.post(
                "/mfa/totp/confirm", json={"code": "123456"}, headers=csrf_headers(client)
            )
            statuses.append(response.status_code)
    assert statuses == [400, 400, 429]


async def test_overlong_code_is_422(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await signed_in(test_app, client)
        response = await client.post(
            "/mfa/totp/confirm", json={"code": "1" * 10_000}, headers=csrf_headers(client)
        )
        verify = await client.post("/mfa/verify", json={"challenge": "x" * 10_000, "code": "1"})
    assert response.status_code == 422, response.text
    assert verify.status_code == 422, verify.text


async def test_enabling_keeps_existing_sessions(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app = await make_mfa_app()
    user = await test_app.create_user()
    async with test_app.client() as client:
        await signed_in(test_app, client)
        await enrol(test_app, user.id, clock)
        response = await client.get("/me")
    assert response.status_code == 200, response.text
