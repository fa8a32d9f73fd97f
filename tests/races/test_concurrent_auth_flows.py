"""Concurrent requests through the ASGI app keep every limit and revocation exact.

Each test repeats its race several times on the memory, Redis and database stores.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from crudauth import AuthHooks
from crudauth.ratelimit import LockoutConfig, RateLimit
from security_support import prepare
from support import login

ROUNDS = 5
ROOMY = {"register": RateLimit(1000, 3600)}
ROOMY_LOCKOUT = LockoutConfig(max_attempts=1000)


async def test_parallel_logins_respect_the_session_cap(make_app: Any, backend: Any) -> None:
    test_app = await make_app(**backend(max_sessions_per_user=3), lockout=ROOMY_LOCKOUT)
    await prepare(backend)
    await test_app.create_user()
    clients = [test_app.client() for _ in range(12)]
    for round_number in range(ROUNDS):
        answers = await asyncio.gather(*(login(client) for client in clients))
        assert [answer.status_code for answer in answers] == [200] * len(clients)
        statuses = await asyncio.gather(*(client.get("/me") for client in clients))
        alive = sum(1 for status in statuses if status.status_code == 200)
        assert alive <= 3, (round_number, alive)
        listing = await clients[-1].get("/sessions")
        if listing.status_code == 200:
            assert len(listing.json()) <= 3
    for client in clients:
        await client.aclose()


async def test_revoked_session_stays_dead_during_requests(make_app: Any, backend: Any) -> None:
    test_app = await make_app(**backend(), lockout=ROOMY_LOCKOUT)
    await prepare(backend)
    await test_app.create_user()
    manager = test_app.auth.sessions
    for _ in range(ROUNDS):
        async with test_app.client() as client:
            await login(client)
            session_id = client.cookies["session_id"]
            requests = [client.get("/me") for _ in range(10)]
            await asyncio.gather(manager.terminate_session(session_id), *requests)
            assert (await client.get("/me")).status_code == 401
            assert await manager.get_session(session_id) is None


async def test_duplicate_registrations_make_one_account(make_app: Any, backend: Any) -> None:
    test_app = await make_app(**backend(), rate_limits=ROOMY)
    await prepare(backend)
    for round_number in range(ROUNDS):
        body = {
            "email": f"twin{round_number}@example.com",
            "username": f"twin{round_number}",
            "password": "Valid-Pass-123",
        }
        async with test_app.client() as client:
            answers = await asyncio.gather(*(client.post("/register", json=body) for _ in range(8)))
        statuses = [answer.status_code for answer in answers]
        assert all(status < 500 for status in statuses), statuses
        assert sum(1 for status in statuses if status < 300) == 1, statuses
        for answer in answers:
            if answer.status_code >= 400:
                assert 400 <= answer.status_code < 500
                assert "detail" in answer.json()
        async with test_app.sessionmaker() as db:
            count = await db.scalar(
                select(func.count())
                .select_from(test_app.model)
                .where(test_app.model.username == body["username"])
            )
        assert count == 1


async def test_parallel_wrong_guesses_stop_at_the_lockout(make_app: Any, backend: Any) -> None:
    checked: list[str] = []

    async def count_failure(identifier: str, **_: Any) -> None:
        checked.append(identifier)

    test_app = await make_app(
        **backend(),
        lockout=LockoutConfig(max_attempts=5),
        hooks=AuthHooks(on_login_failed=count_failure),
    )
    await prepare(backend)
    await test_app.create_user()
    async with test_app.client() as client:
        answers = await asyncio.gather(*(login(client, password=f"wrong-{n}") for n in range(50)))
        statuses = [answer.status_code for answer in answers]
        assert 1 <= len(checked) <= 5, len(checked)
        assert statuses.count(401) == len(checked)
        assert statuses.count(429) == 50 - len(checked)
        locked = await login(client)
    assert locked.status_code == 429
    assert "retry-after" in locked.headers


async def test_correct_guess_in_a_burst_keeps_the_lock(make_app: Any, backend: Any) -> None:
    test_app = await make_app(**backend(), lockout=LockoutConfig(max_attempts=5))
    await prepare(backend)
    await test_app.create_user()
    async with test_app.client() as client:
        attempts = [login(client, password=f"wrong-{n}") for n in range(20)]
        attempts.insert(10, login(client))
        answers = await asyncio.gather(*attempts)
        correct = answers[10]
        assert correct.status_code in (200, 429)
        after = await login(client, password="wrong-after")
    assert after.status_code == 429
