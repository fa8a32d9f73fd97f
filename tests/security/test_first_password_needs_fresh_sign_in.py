"""Only the owner, freshly signed in, can give a password-less account its first password."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from crudauth import BearerTransport, EmailConfig, SessionTransport, is_unusable_password
from provider_mocks import google_profile, oauth_sign_in, provider_app
from recovery_support import FRONTEND, RecordingSender
from security_support import me_status
from support import csrf_headers, login

FRESH_SIGN_IN_REQUIRED = {"detail": "Sign in again to continue: this needs a recent sign-in."}
ALREADY_HAS_PASSWORD = "Account already has a password; use the password reset flow to change it."


async def account_app(make_app: Any) -> Any:
    test_app = await provider_app(
        make_app,
        transports=[SessionTransport(management_routes=True), BearerTransport(refresh="body")],
        email=EmailConfig(sender=RecordingSender(), frontend_url=FRONTEND),
        fresh_sign_in_seconds=600,
    )
    await test_app.create_user(email_verified=True)
    for name in ("erin", "olivia"):
        await test_app.create_user(
            email=f"{name}@example.com",
            username=name,
            password=None,
            email_verified=True,
            google_id=f"google-{name}",
        )
    return test_app


async def google_session(test_app: Any, client: Any, name: str) -> None:
    profile = google_profile(f"{name}@example.com", verified=True, sub=f"google-{name}")
    test_app.extras["providers"].queue("google", profile)
    done = await oauth_sign_in(client, "google")
    assert done.status_code == 307, done.text
    assert (await client.get("/me")).json()["username"] == name


async def set_password(client: Any, password: str, **headers: str) -> Any:
    return await client.post(
        "/set-password",
        json={"new_password": password},
        headers=headers or csrf_headers(client),
    )


async def stored_hash(test_app: Any, username: str) -> str:
    async with test_app.sessionmaker() as db:
        user = await test_app.auth.repo.get_by_field(db, "username", username)
    return str(user.hashed_password)


async def test_signup_with_taken_address_plants_no_password(make_app: Any) -> None:
    test_app = await account_app(make_app)
    async with test_app.client() as someone:
        body = {"email": "erin@example.com", "username": "erin_x", "password": "Planted-Pw-9"}
        registered = await someone.post("/register", json=body)
        assert registered.status_code == 202, registered.text
        fresh = await someone.post(
            "/register",
            json={"email": "new@example.com", "username": "new_one", "password": "Planted-Pw-9"},
        )
        assert registered.json() == fresh.json()
        assert (await login(someone, "erin@example.com", "Planted-Pw-9")).status_code == 401
        assert (await login(someone, "erin_x", "Planted-Pw-9")).status_code == 401
    assert is_unusable_password(await stored_hash(test_app, "erin"))


async def test_owner_sets_first_password_once(make_app: Any) -> None:
    test_app = await account_app(make_app)
    async with test_app.client() as erin:
        await google_session(test_app, erin, "erin")
        first = await set_password(erin, "Erins-Own-Pw-4")
        assert first.status_code == 200, first.text
        assert first.json() == {"detail": "Password set."}
        second = await set_password(erin, "Another-Pw-55")
        assert second.status_code == 400, second.text
        assert second.json() == {"detail": ALREADY_HAS_PASSWORD}
    async with test_app.client() as client:
        assert (await login(client, "erin@example.com", "Erins-Own-Pw-4")).status_code == 200
        assert (await login(client, "erin@example.com", "Another-Pw-55")).status_code == 401


async def test_parallel_first_passwords_set_one(make_app: Any) -> None:
    test_app = await account_app(make_app)
    async with test_app.client() as erin:
        await google_session(test_app, erin, "erin")
        answers = await asyncio.gather(*(set_password(erin, f"Parallel-Pw-{n}0") for n in range(5)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 400, 400, 400, 400], [answer.text for answer in answers]
    winner = next(n for n, answer in enumerate(answers) if answer.status_code == 200)
    async with test_app.client() as client:
        for n in range(5):
            expected = 200 if n == winner else 401
            response = await login(client, "erin@example.com", f"Parallel-Pw-{n}0")
            assert response.status_code == expected, (n, response.text)


async def test_old_session_needs_a_fresh_sign_in(make_app: Any) -> None:
    test_app = await account_app(make_app)
    async with test_app.client() as olivia:
        await google_session(test_app, olivia, "olivia")

        def backdate(record: Any) -> None:
            record.created_at = record.created_at - timedelta(seconds=601)

        assert await test_app.auth.sessions.modify_session(olivia.cookies["session_id"], backdate)
        rejected = await set_password(olivia, "Olivias-Pw-44")
    assert rejected.status_code == 403, rejected.text
    assert rejected.json() == FRESH_SIGN_IN_REQUIRED
    assert is_unusable_password(await stored_hash(test_app, "olivia"))


async def test_bearer_token_cannot_set_first_password(make_app: Any) -> None:
    test_app = await account_app(make_app)
    async with test_app.sessionmaker() as db:
        olivia = await test_app.auth.repo.get_by_field(db, "username", "olivia")
    tokens = await test_app.auth.issue_tokens(olivia)
    access = tokens["access_token"]
    assert await me_status(test_app, token=access) == 200
    async with test_app.client() as client:
        rejected = await set_password(client, "Olivias-Pw-44", Authorization=f"Bearer {access}")
    assert rejected.status_code == 403, rejected.text
    assert rejected.json() == FRESH_SIGN_IN_REQUIRED
    assert is_unusable_password(await stored_hash(test_app, "olivia"))


async def test_account_with_password_cannot_use_set_password(make_app: Any) -> None:
    test_app = await account_app(make_app)
    before = await stored_hash(test_app, "alice")
    async with test_app.client() as alice:
        await login(alice)
        rejected = await set_password(alice, "Replaced-Pw-66")
    assert rejected.status_code == 400, rejected.text
    assert await stored_hash(test_app, "alice") == before
