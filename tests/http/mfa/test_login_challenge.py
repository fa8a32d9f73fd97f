"""The two-step login on ``/login`` and ``/token`` and its ``/mfa/verify`` completion."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from crudauth import AuthHooks
from crudauth.ratelimit import LockoutConfig
from mfa_support import FrozenClock, code_at, enrol, mfa_config
from support import login


async def enrolled_app(
    make_mfa_app: Any, clock: FrozenClock, **kwargs: Any
) -> tuple[Any, Any, str, list[str]]:
    test_app = await make_mfa_app(**kwargs)
    user = await test_app.create_user()
    secret, codes = await enrol(test_app, user.id, clock)
    return test_app, user, secret, codes


async def start(client: Any) -> str:
    response = await login(client)
    assert response.status_code == 200, response.text
    return str(response.json()["challenge"])


async def verify(client: Any, challenge: str, code: str, **kwargs: Any) -> Any:
    return await client.post("/mfa/verify", json={"challenge": challenge, "code": code}, **kwargs)


async def test_login_answers_a_challenge_and_no_cookie(
    make_mfa_app: Any, clock: FrozenClock
) -> None:
    logins: list[Any] = []
    hooks = AuthHooks(on_after_login=lambda user, **kw: logins.append(kw["context"]))
    test_app, _user, _secret, _codes = await enrolled_app(make_mfa_app, clock, hooks=hooks)
    async with test_app.client() as client:
        response = await login(client)
        me = await client.get("/me")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"mfa_required", "challenge", "expires_in"}
    assert body["mfa_required"] is True
    assert body["expires_in"] == 300
    assert len(body["challenge"]) >= 43
    assert "set-cookie" not in response.headers
    assert me.status_code == 401, me.text
    assert logins == []


async def test_verify_completes_a_session_login(make_mfa_app: Any, clock: FrozenClock) -> None:
    logins: list[Any] = []
    hooks = AuthHooks(on_after_login=lambda user, **kw: logins.append(kw["context"]))
    test_app, user, secret, _codes = await enrolled_app(make_mfa_app, clock, hooks=hooks)
    async with test_app.client() as client:
        challenge = await start(client)
        response = await verify(client, challenge, code_at(secret, clock()))
        me = await client.get("/me")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"id", "username", "csrf_token"}
    assert body["id"] == user.id
    assert "session_id" in response.cookies
    assert me.status_code == 200, me.text
    assert len(logins) == 1
    assert logins[0].transport == "session"
    assert logins[0].session_handle is not None


async def test_remember_me_survives_the_challenge(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, _user, secret, _codes = await enrolled_app(make_mfa_app, clock)
    async with test_app.client() as client:
        first = await login(client, remember_me="true")
        response = await verify(client, first.json()["challenge"], code_at(secret, clock()))
    assert response.status_code == 200, response.text
    assert "Max-Age=2592000" in response.headers["set-cookie"]


async def test_token_route_challenges_then_issues_tokens(
    make_mfa_app: Any, clock: FrozenClock
) -> None:
    test_app, _user, secret, _codes = await enrolled_app(make_mfa_app, clock)
    async with test_app.client() as client:
        first = await client.post(
            "/token", data={"username": "alice", "password": "Correct-Horse-1"}
        )
        assert first.status_code == 200, first.text
        assert "access_token" not in first.json()
        response = await verify(client, first.json()["challenge"], code_at(secret, clock()))
        token = response.json()["access_token"]
        me = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"
    assert "refresh_token" in response.json()
    assert me.json()["via"] == "bearer"


async def test_unenrolled_account_logs_in_directly(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app()
    await test_app.create_user()
    async with test_app.client() as client:
        response = await login(client)
    assert response.status_code == 200, response.text
    assert "csrf_token" in response.json()
    assert "mfa_required" not in response.json()


async def test_code_replay_within_its_step_fails(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, _user, secret, _codes = await enrolled_app(make_mfa_app, clock)
    code = code_at(secret, clock())
    async with test_app.client() as first, test_app.client() as second:
        accepted = await verify(first, await start(first), code)
        replayed = await verify(second, await start(second), code)
    assert accepted.status_code == 200, accepted.text
    assert replayed.status_code == 401, replayed.text
    assert replayed.json() == {"detail": "Invalid code"}


async def test_concurrent_replay_accepts_once(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, _user, secret, _codes = await enrolled_app(make_mfa_app, clock)
    code = code_at(secret, clock())
    clients = [test_app.client() for _ in range(4)]
    try:
        challenges = [await start(client) for client in clients]
        responses = await asyncio.gather(
            *(verify(c, ch, code) for c, ch in zip(clients, challenges, strict=True))
        )
    finally:
        for client in clients:
            await client.aclose()
    assert sorted(r.status_code for r in responses) == [200, 401, 401, 401]


async def test_drift_window_edges(make_mfa_app: Any, clock: FrozenClock) -> None:
    lenient = LockoutConfig(max_attempts=50)
    test_app, _user, secret, _codes = await enrolled_app(make_mfa_app, clock, lockout=lenient)
    # Move well past the step the enrolment claimed, so every offset is still unspent.
    clock.advance(90)
    now = clock()
    outcomes = {}
    # Older offsets first: once a step is accepted, that step and earlier ones are spent.
    for offset in (-60, -30, 0, 30, 60):
        async with test_app.client() as client:
            response = await verify(client, await start(client), code_at(secret, now + offset))
        outcomes[offset] = response.status_code
    assert outcomes == {-60: 401, -30: 200, 0: 200, 30: 200, 60: 401}


async def test_drift_at_step_boundary(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, _user, secret, _codes = await enrolled_app(make_mfa_app, clock)
    # The last instant of a step still accepts the next step's code, not the one after.
    clock.now = (int(clock()) // 30 + 1) * 30 - 0.001
    async with test_app.client() as client:
        too_far = await verify(client, await start(client), code_at(secret, clock() + 60))
        next_step = await verify(client, await start(client), code_at(secret, clock() + 30))
    assert too_far.status_code == 401, too_far.text
    assert next_step.status_code == 200, next_step.text


async def test_older_step_fails_after_a_newer_one(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, _user, secret, _codes = await enrolled_app(make_mfa_app, clock)
    async with test_app.client() as client:
        newer = await verify(client, await start(client), code_at(secret, clock() + 30))
        older = await verify(client, await start(client), code_at(secret, clock()))
    assert newer.status_code == 200, newer.text
    assert older.status_code == 401, older.text


async def test_wrong_codes_count_against_the_login_lockout(
    make_mfa_app: Any, clock: FrozenClock
) -> None:
    test_app, _user, secret, _codes = await enrolled_app(
        make_mfa_app, clock, lockout=LockoutConfig(max_attempts=3)
    )
    async with test_app.client() as client:
        challenge = await start(client)
        statuses = [(await verify(client, challenge, "000000")).status_code for _ in range(4)]
        locked_verify = await verify(client, challenge, code_at(secret, clock()))
        locked_login = await login(client)
    # The right password took back its own attempt, so only the three codes count.
    assert statuses == [401, 401, 401, 429]
    # The lockout deleted the challenge.
    assert locked_verify.status_code == 400, locked_verify.text
    assert locked_login.status_code == 429, locked_login.text
    assert "retry-after" in locked_login.headers


async def test_right_code_clears_lockout_pressure(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, _user, secret, _codes = await enrolled_app(
        make_mfa_app, clock, lockout=LockoutConfig(max_attempts=3)
    )
    async with test_app.client() as client:
        challenge = await start(client)
        await verify(client, challenge, "000000")
        await verify(client, challenge, "000000")
        done = await verify(client, challenge, code_at(secret, clock()))
        clock.advance(30)
        # Without the clear, this challenge's wrong codes would trip the lock here.
        challenge = await start(client)
        await verify(client, challenge, "000000")
        await verify(client, challenge, "000000")
        again = await verify(client, challenge, code_at(secret, clock()))
    assert done.status_code == 200, done.text
    assert again.status_code == 200, again.text


async def test_challenge_dies_after_max_attempts(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, _user, secret, _codes = await enrolled_app(
        make_mfa_app, clock, mfa=mfa_config(max_code_attempts=2)
    )
    async with test_app.client() as client:
        challenge = await start(client)
        first = await verify(client, challenge, "000000")
        second = await verify(client, challenge, "000000")
        right = await verify(client, challenge, code_at(secret, clock()))
    assert first.status_code == 401, first.text
    assert second.status_code == 401, second.text
    assert right.status_code == 400, right.text
    assert right.json() == {"detail": "Invalid or expired MFA challenge"}


async def test_challenge_is_single_use(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, _user, secret, _codes = await enrolled_app(make_mfa_app, clock)
    async with test_app.client() as client:
        challenge = await start(client)
        first = await verify(client, challenge, code_at(secret, clock()))
        clock.advance(30)
        second = await verify(client, challenge, code_at(secret, clock()))
    assert first.status_code == 200, first.text
    assert second.status_code == 400, second.text


async def test_challenge_used_once_under_concurrency(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, _user, secret, codes = await enrolled_app(make_mfa_app, clock)
    async with test_app.client() as client:
        challenge = await start(client)
        # Two different valid codes race for one challenge: one login only.
        responses = await asyncio.gather(
            verify(client, challenge, code_at(secret, clock())),
            verify(client, challenge, codes[0]),
        )
    assert sorted(r.status_code for r in responses)[0] == 200
    assert sorted(r.status_code for r in responses)[1] == 400


async def test_challenge_expiry(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, _user, secret, _codes = await enrolled_app(make_mfa_app, clock)
    store = test_app.auth.mfa.challenges
    async with test_app.client() as client:
        challenge = await start(client)
        store._now = lambda: time.time() + 299
        before = await verify(client, challenge, "000000")
        store._now = lambda: time.time() + 301
        after = await verify(client, challenge, code_at(secret, clock()))
    assert before.status_code == 401, before.text
    assert after.status_code == 400, after.text
    assert after.json() == {"detail": "Invalid or expired MFA challenge"}


async def test_wrong_attempts_do_not_extend_the_challenge(
    make_mfa_app: Any, clock: FrozenClock
) -> None:
    test_app, _user, secret, _codes = await enrolled_app(make_mfa_app, clock)
    store = test_app.auth.mfa.challenges
    async with test_app.client() as client:
        challenge = await start(client)
        store._now = lambda: time.time() + 200
        await verify(client, challenge, "000000")
        store._now = lambda: time.time() + 301
        after = await verify(client, challenge, code_at(secret, clock()))
    assert after.status_code == 400, after.text


async def test_unknown_challenge_is_400(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app()
    async with test_app.client() as client:
        response = await verify(client, "not-a-challenge", "123456")
        described = await client.post("/mfa/challenge", json={"challenge": "nope"})
    assert response.status_code == 400, response.text
    assert described.status_code == 400, described.text


async def test_password_change_voids_the_challenge(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, user, secret, _codes = await enrolled_app(make_mfa_app, clock)
    async with test_app.client() as client:
        challenge = await start(client)
        async with test_app.sessionmaker() as db:
            row = await test_app.auth.repo.get_by_id(db, user.id)
            await test_app.auth.repo.increment_token_version(db, row)
        response = await verify(client, challenge, code_at(secret, clock()))
    assert response.status_code == 400, response.text


async def test_disabled_account_cannot_finish(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, user, secret, _codes = await enrolled_app(make_mfa_app, clock)
    async with test_app.client() as client:
        challenge = await start(client)
        async with test_app.sessionmaker() as db:
            row = await test_app.auth.repo.get_by_id(db, user.id)
            await test_app.auth.repo.update(db, row, {"is_active": False})
        response = await verify(client, challenge, code_at(secret, clock()))
    assert response.status_code == 400, response.text


async def test_cross_site_verify_is_403(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, _user, secret, _codes = await enrolled_app(make_mfa_app, clock)
    async with test_app.client() as client:
        challenge = await start(client)
        response = await verify(
            client,
            challenge,
            code_at(secret, clock()),
            headers={"Sec-Fetch-Site": "cross-site"},
        )
        same_site = await verify(client, challenge, code_at(secret, clock()))
    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "Cross-site login requests are not allowed."}
    assert same_site.status_code == 200, same_site.text


async def test_describe_challenge_is_not_an_attempt(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app, _user, secret, _codes = await enrolled_app(
        make_mfa_app, clock, mfa=mfa_config(max_code_attempts=1)
    )
    async with test_app.client() as client:
        challenge = await start(client)
        for _ in range(3):
            described = await client.post("/mfa/challenge", json={"challenge": challenge})
            assert described.status_code == 200, described.text
            assert described.json() == {"setup": None}
        response = await verify(client, challenge, code_at(secret, clock()))
    assert response.status_code == 200, response.text


async def test_recovery_code_finishes_a_login_once(make_mfa_app: Any, clock: FrozenClock) -> None:
    used: list[Any] = []
    hooks = AuthHooks(on_after_recovery_code_used=lambda user, **kw: used.append(kw["context"]))
    test_app, _user, _secret, codes = await enrolled_app(make_mfa_app, clock, hooks=hooks)
    async with test_app.client() as client:
        first = await verify(client, await start(client), codes[3])
        status = await client.get("/mfa")
        second = await verify(client, await start(client), codes[3])
    assert first.status_code == 200, first.text
    assert "recovery_codes" not in first.json()
    assert status.json()["recovery_codes_remaining"] == 9
    assert second.status_code == 401, second.text
    assert len(used) == 1
    assert used[0].transport == "session"


async def test_required_account_enrols_during_login(make_mfa_app: Any, clock: FrozenClock) -> None:
    enabled: list[Any] = []
    test_app = await make_mfa_app(
        mfa=mfa_config(required=True),
        hooks=AuthHooks(on_after_mfa_enabled=lambda user, **kw: enabled.append(kw)),
    )
    await test_app.create_user()
    async with test_app.client() as client:
        first = await login(client)
        retry = await login(client)
        described = await client.post(
            "/mfa/challenge", json={"challenge": retry.json()["challenge"]}
        )
        secret = first.json()["setup"]["secret"]
        recovery = await verify(client, retry.json()["challenge"], "abcd-efgh-jkmn-pqrs")
        response = await verify(client, retry.json()["challenge"], code_at(secret, clock()))
        status = await client.get("/mfa")
    assert first.status_code == 200, first.text
    assert set(first.json()["setup"]) == {"secret", "otpauth_uri"}
    # A retry shows the same pending secret, so an app scanned on the first try works.
    assert retry.json()["setup"] == first.json()["setup"]
    assert described.json() == {"setup": first.json()["setup"]}
    assert recovery.status_code == 401, recovery.text
    assert response.status_code == 200, response.text
    assert len(response.json()["recovery_codes"]) == 10
    assert "csrf_token" in response.json()
    assert status.json() == {"enabled": True, "required": True, "recovery_codes_remaining": 10}
    assert len(enabled) == 1
    assert enabled[0]["context"].transport == "session"


async def test_async_required_predicate(make_mfa_app: Any) -> None:
    async def only_admins(user: Any) -> bool:
        return bool(user.username == "root")

    test_app = await make_mfa_app(mfa=mfa_config(required=only_admins))
    await test_app.create_user()
    await test_app.create_user(email="root@example.com", username="root")
    async with test_app.client() as client:
        alice = await login(client)
        root = await login(client, "root")
    assert "csrf_token" in alice.json()
    assert root.json()["mfa_required"] is True
    assert "setup" in root.json()


async def test_rotated_away_key_fails_closed(
    make_mfa_app: Any, clock: FrozenClock, caplog: Any
) -> None:
    from cryptography.fernet import Fernet

    from crudauth.mfa.cipher import SecretCipher

    test_app, user, secret, codes = await enrolled_app(make_mfa_app, clock)
    test_app.auth.mfa.cipher = SecretCipher([Fernet.generate_key().decode()])
    async with test_app.client() as client:
        challenge = await start(client)
        by_totp = await verify(client, challenge, code_at(secret, clock()))
        by_recovery = await verify(client, challenge, codes[0])
    assert by_totp.status_code == 401, by_totp.text
    assert by_recovery.status_code == 401, by_recovery.text
    assert f"user_id={user.id}" in caplog.text
    assert secret not in caplog.text
