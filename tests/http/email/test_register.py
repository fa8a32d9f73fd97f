"""Registration with a recovery channel: one 202 for new and taken addresses."""

from __future__ import annotations

from typing import Any

from crudauth.ratelimit import RateLimit
from support import ALICE

ACCEPTED = {"detail": "If the email is available, check your inbox to finish signing up."}


async def test_new_and_taken_email_identical(recovery_app: Any) -> None:
    app = await recovery_app()
    async with app.test_app.client() as client:
        fresh = await client.post("/register", json=ALICE)
        taken = await client.post("/register", json={**ALICE, "username": "alice2"})

    assert fresh.status_code == 202, fresh.text
    assert taken.status_code == 202, taken.text
    assert fresh.content == taken.content
    assert fresh.json() == ACCEPTED
    assert fresh.cookies == taken.cookies

    verify = app.sender.of_kind("verify_email")
    assert [mail.to for mail in verify] == ["alice@example.com"]
    notices = app.sender.of_kind("existing_account")
    assert [mail.to for mail in notices] == ["alice@example.com"]
    assert notices[0].subject == "You already have an account"
    assert notices[0].context.link is None


async def test_registration_verification_confirms(recovery_app: Any) -> None:
    app = await recovery_app()
    async with app.test_app.client() as client:
        await client.post("/register", json=ALICE)
        token = app.sender.of_kind("verify_email")[0].token
        confirmed = await client.post("/email/verify-confirm", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    async with app.test_app.sessionmaker() as db:
        user = await app.auth.repo.get_by_email(db, "alice@example.com")
    assert user.email_verified is True


async def test_taken_username_still_reported(recovery_app: Any) -> None:
    app = await recovery_app()
    async with app.test_app.client() as client:
        await client.post("/register", json=ALICE)
        clash = await client.post("/register", json={**ALICE, "email": "other@example.com"})
    assert clash.status_code == 422
    assert clash.json() == {"detail": "Username already taken"}


async def test_raising_sender_still_registers(recovery_app: Any) -> None:
    app = await recovery_app()
    app.sender.error = ConnectionError("smtp down")
    async with app.test_app.client() as client:
        fresh = await client.post("/register", json=ALICE)
        taken = await client.post("/register", json={**ALICE, "username": "alice2"})
    assert fresh.status_code == 202
    assert taken.status_code == 202
    async with app.test_app.sessionmaker() as db:
        assert await app.auth.repo.get_by_email(db, "alice@example.com") is not None


async def test_existing_account_notice_throttled(recovery_app: Any) -> None:
    app = await recovery_app(
        rate_limits={"existing_account_notice": RateLimit(1, 3600), "register": RateLimit(0, 60)}
    )
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        statuses = [
            (
                await client.post("/register", json={**ALICE, "username": f"alice{index}"})
            ).status_code
            for index in range(3)
        ]
    assert statuses == [202, 202, 202]
    assert len(app.sender.of_kind("existing_account")) == 1


async def test_notice_intent_has_no_session(recovery_app: Any) -> None:
    from recovery_support import RecordingChannel

    channel = RecordingChannel()
    app = await recovery_app(channels=[channel])
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await client.post("/register", json={**ALICE, "username": "alice2"})

    assert len(channel.intents) == 1
    intent = channel.intents[0]
    assert intent.kind == "existing_account"
    assert intent.token is None
    assert intent.user == {}
    assert intent.expires_in == 0
    assert channel.sessions == [None]


async def test_verify_on_register_off_answers_with_account(make_app: Any) -> None:
    from crudauth import EmailConfig
    from recovery_support import RecordingSender

    sender = RecordingSender()
    test_app = await make_app(email=EmailConfig(sender=sender, verify_on_register=False))
    async with test_app.client() as client:
        fresh = await client.post("/register", json=ALICE)
        taken = await client.post("/register", json={**ALICE, "username": "alice2"})
        reset = await client.post("/password/reset-request", json={"email": ALICE["email"]})
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["email"] == "alice@example.com"
    assert taken.status_code == 422, taken.text
    assert taken.json() == {"detail": "Email already registered"}
    assert reset.status_code == 200, reset.text
    assert sender.of_kind("verify_email") == []
    assert sender.of_kind("existing_account") == []
