"""Sudo mode over HTTP: elevation, the gated dependency, the window and the lockout."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi import Depends, Request
from pydantic import BaseModel

from crudauth import (
    AuthHooks,
    BearerTransport,
    Principal,
    SessionTransport,
    SudoConfig,
    SudoLockoutError,
)
from mfa_support import FrozenClock, code_at, enrol, mfa_config, mfa_model
from support import BOB, csrf_headers, login


class SudoIn(BaseModel):
    password: str | None = None
    code: str | None = None


async def sudo_app(make_app: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("sudo", SudoConfig())
    kwargs.setdefault("transports", [SessionTransport(), BearerTransport(refresh="body")])
    test_app = await make_app(model=mfa_model(), **kwargs)
    auth = test_app.auth

    @test_app.app.post("/sudo")
    async def sudo(
        body: SudoIn,
        request: Request,
        me: Principal = Depends(auth.current_user()),
        db: Any = Depends(auth.session),
    ) -> dict[str, str]:
        until = await auth.sudo.elevate(
            me, body.password, code=body.code, db=db if body.code else None, request=request
        )
        return {"elevated_until": until.isoformat()}

    @test_app.app.get("/sensitive")
    async def sensitive(me: Principal = Depends(auth.require_sudo())) -> dict[str, Any]:
        return {"user_id": me.user_id}

    @test_app.app.get("/fresh")
    async def fresh(me: Principal = Depends(auth.current_user())) -> dict[str, bool]:
        return {"fresh": await auth.signed_in_recently(me)}

    return test_app


async def elevate(client: Any, **body: str) -> Any:
    return await client.post("/sudo", json=body, headers=csrf_headers(client))


async def test_elevate_opens_the_gated_route(make_app: Any) -> None:
    calls: list[Any] = []
    test_app = await sudo_app(
        make_app, hooks=AuthHooks(on_after_sudo=lambda user, **kw: calls.append(kw))
    )
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        before = await client.get("/sensitive")
        response = await elevate(client, password="Correct-Horse-1")
        after = await client.get("/sensitive")
    assert before.status_code == 403, before.text
    assert before.json() == {"detail": "Re-authentication required."}
    assert response.status_code == 200, response.text
    until = datetime.fromisoformat(response.json()["elevated_until"])
    remaining = until - datetime.now(timezone.utc)
    assert timedelta(seconds=290) < remaining <= timedelta(seconds=300)
    assert after.status_code == 200, after.text
    assert len(calls) == 1
    assert calls[0]["context"].transport == "session"


async def test_gated_route_needs_authentication(make_app: Any) -> None:
    test_app = await sudo_app(make_app)
    async with test_app.client() as client:
        response = await client.get("/sensitive")
    assert response.status_code == 401, response.text


async def test_wrong_password_is_401(make_app: Any) -> None:
    test_app = await sudo_app(make_app)
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await elevate(client, password="wrong")
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Incorrect password"}


async def test_lockout_after_max_attempts(make_app: Any) -> None:
    test_app = await sudo_app(make_app)
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        statuses = [(await elevate(client, password="wrong")).status_code for _ in range(2)]
        locked = await elevate(client, password="wrong")
        right = await elevate(client, password="Correct-Horse-1")
        async with test_app.client() as other:
            # The sudo lockout never touches the login lockout.
            relogin = await login(other)
    assert statuses == [401, 401]
    assert locked.status_code == 429, locked.text
    assert locked.headers["retry-after"] == "900"
    assert locked.json() == {"detail": "Too many attempts. Try again later."}
    assert right.status_code == 429, right.text
    assert relogin.status_code == 200, relogin.text


async def test_lockout_drops_an_existing_elevation(make_app: Any) -> None:
    test_app = await sudo_app(make_app, sudo=SudoConfig(max_attempts=1))
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        assert (await elevate(client, password="Correct-Horse-1")).status_code == 200
        locked = await elevate(client, password="wrong")
        gated = await client.get("/sensitive")
    assert locked.status_code == 429, locked.text
    assert gated.status_code == 403, gated.text


async def test_lockout_keys_live_in_sudo_namespace(make_app: Any) -> None:
    test_app = await sudo_app(make_app, sudo=SudoConfig(max_attempts=1, lockout_seconds=77))
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        await elevate(client, password="wrong")
    limiter = test_app.auth.rate_limiter
    assert await limiter.get_ttl(f"sudo:lock:{user.id}") == 77
    assert await limiter.get_count("login:user:alice") in (None, 0)


async def test_correct_password_resets_the_counter(make_app: Any) -> None:
    test_app = await sudo_app(make_app)
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        await elevate(client, password="wrong")
        await elevate(client, password="wrong")
        assert (await elevate(client, password="Correct-Horse-1")).status_code == 200
        statuses = [(await elevate(client, password="wrong")).status_code for _ in range(2)]
    assert statuses == [401, 401]


async def test_window_expiry(make_app: Any) -> None:
    test_app = await sudo_app(make_app, sudo=SudoConfig(window_seconds=60))
    await test_app.create_user()
    manager = test_app.auth.sudo
    async with test_app.client() as client:
        await login(client)
        await elevate(client, password="Correct-Horse-1")
        start = datetime.now(timezone.utc)
        manager._now = lambda: start + timedelta(seconds=58)
        inside = await client.get("/sensitive")
        manager._now = lambda: start + timedelta(seconds=61)
        outside = await client.get("/sensitive")
    assert inside.status_code == 200, inside.text
    assert outside.status_code == 403, outside.text


async def test_stamp_rewritten_to_the_past(make_app: Any) -> None:
    test_app = await sudo_app(make_app)
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        await elevate(client, password="Correct-Horse-1")
        session_id = client.cookies["session_id"]

        def backdate(stored: Any) -> None:
            past = datetime.now(timezone.utc) - timedelta(seconds=1)
            stored.metadata["sudo_elevated_until"] = past.isoformat()

        await test_app.auth.sessions.modify_session(session_id, backdate)
        response = await client.get("/sensitive")
    assert response.status_code == 403, response.text


async def test_garbage_stamp_is_not_elevated(make_app: Any) -> None:
    test_app = await sudo_app(make_app)
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        session_id = client.cookies["session_id"]
        for value in ("not a date", "2999-01-01T00:00:00", 12345):

            def corrupt(stored: Any, value: Any = value) -> None:
                stored.metadata["sudo_elevated_until"] = value

            await test_app.auth.sessions.modify_session(session_id, corrupt)
            response = await client.get("/sensitive")
            assert response.status_code == 403, (value, response.text)


async def test_elevation_is_per_session(make_app: Any) -> None:
    test_app = await sudo_app(make_app)
    await test_app.create_user()
    async with test_app.client() as laptop, test_app.client() as phone:
        await login(laptop)
        await login(phone)
        await elevate(laptop, password="Correct-Horse-1")
        on_laptop = await laptop.get("/sensitive")
        on_phone = await phone.get("/sensitive")
    assert on_laptop.status_code == 200, on_laptop.text
    assert on_phone.status_code == 403, on_phone.text


async def test_activity_keeps_the_stamp_and_expiry(make_app: Any) -> None:
    test_app = await sudo_app(make_app, transports=[SessionTransport(activity_interval_seconds=0)])
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        await elevate(client, password="Correct-Horse-1")
        for _ in range(3):
            assert (await client.get("/me")).status_code == 200
        response = await client.get("/sensitive")
    assert response.status_code == 200, response.text


async def test_bearer_principal_cannot_elevate(make_app: Any) -> None:
    test_app = await sudo_app(make_app)
    await test_app.create_user()
    async with test_app.client() as client:
        tokens = await client.post(
            "/token", data={"username": "alice", "password": "Correct-Horse-1"}
        )
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        response = await client.post("/sudo", json={"password": "Correct-Horse-1"}, headers=headers)
        gated = await client.get("/sensitive", headers=headers)
    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "Sudo requires a session-backed login."}
    assert gated.status_code == 403, gated.text


async def test_logout_ends_the_elevation(make_app: Any) -> None:
    test_app = await sudo_app(make_app)
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        await elevate(client, password="Correct-Horse-1")
        session_id = client.cookies["session_id"]
        await client.post("/logout", headers=csrf_headers(client))
        response = await client.get("/sensitive")
    assert response.status_code == 401, response.text
    stale = Principal(user_id=user.id, transport="session", metadata={"session_id": session_id})
    assert await test_app.auth.sudo.is_elevated(stale) is False


async def test_elevate_on_a_dead_session_is_403(make_app: Any) -> None:
    test_app = await sudo_app(make_app)
    user = await test_app.create_user()
    stale = Principal(user_id=user.id, transport="session", user=user, metadata={"session_id": "x"})
    with pytest.raises(Exception) as raised:
        await test_app.auth.sudo.elevate(stale, "Correct-Horse-1")
    assert getattr(raised.value, "status_code", None) == 403
    assert raised.value.detail == "Session no longer exists."  # type: ignore[attr-defined]


async def test_elevate_argument_errors(make_app: Any) -> None:
    test_app = await sudo_app(make_app)
    user = await test_app.create_user()
    principal = Principal(user_id=user.id, transport="session", user=user, metadata={})
    with pytest.raises(ValueError):
        await test_app.auth.sudo.elevate(principal)
    with pytest.raises(ValueError):
        await test_app.auth.sudo.elevate(principal, "pw", code="123456")
    # A code needs MFA configured, and this app has none.
    with pytest.raises(ValueError):
        await test_app.auth.sudo.elevate(principal, code="123456", db=object())


async def test_elevate_with_an_authenticator_code(make_app: Any) -> None:
    clock = FrozenClock()
    test_app = await sudo_app(make_app, mfa=mfa_config())
    test_app.auth.mfa.clock = clock
    user = await test_app.create_user()
    secret, codes = await enrol(test_app, user.id, clock)
    async with test_app.client() as client:
        challenge = (await login(client)).json()["challenge"]
        await client.post(
            "/mfa/verify", json={"challenge": challenge, "code": code_at(secret, clock())}
        )
        # The login just spent this step: the same code cannot elevate.
        replayed = await elevate(client, code=code_at(secret, clock()))
        recovery = await elevate(client, code=codes[0])
        clock.advance(30)
        response = await elevate(client, code=code_at(secret, clock()))
        gated = await client.get("/sensitive")
    assert replayed.status_code == 401, replayed.text
    assert replayed.json() == {"detail": "Invalid code"}
    # Recovery codes are never accepted for sudo.
    assert recovery.status_code == 401, recovery.text
    assert response.status_code == 200, response.text
    assert gated.status_code == 200, gated.text
    assert test_app.auth.mfa.recovery_codes_remaining(await test_app.get_user(user.id)) == 10


async def test_sudo_counts_as_fresh_sign_in(make_app: Any) -> None:
    test_app = await sudo_app(make_app, fresh_sign_in_seconds=60)
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        session_id = client.cookies["session_id"]

        def age(stored: Any) -> None:
            stored.created_at = datetime.now(timezone.utc) - timedelta(hours=1)

        await test_app.auth.sessions.modify_session(session_id, age)
        stale = await client.get("/fresh")
        await elevate(client, password="Correct-Horse-1")
        elevated = await client.get("/fresh")
    assert stale.json() == {"fresh": False}
    assert elevated.json() == {"fresh": True}


async def test_lockout_is_per_user(make_app: Any) -> None:
    test_app = await sudo_app(make_app, sudo=SudoConfig(max_attempts=1))
    await test_app.create_user()
    await test_app.create_user(
        **{k: v for k, v in BOB.items() if k != "password"}, password=BOB["password"]
    )
    async with test_app.client() as alice, test_app.client() as bob:
        await login(alice)
        await login(bob, "bob", BOB["password"])
        locked = await elevate(alice, password="wrong")
        fine = await elevate(bob, password=BOB["password"])
    assert locked.status_code == 429, locked.text
    assert fine.status_code == 200, fine.text


def test_sudo_lockout_error_shape() -> None:
    error = SudoLockoutError("Too many attempts. Try again later.", retry_after=12)
    assert error.status_code == 429
    assert error.headers == {"Retry-After": "12"}
