"""Delivery channels: fan-out order, isolation, lifetimes and the session they get."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crudauth import EmailConfig
from recovery_support import FRONTEND, RecordingChannel, RecordingSender


async def test_email_and_channel_each_once(recovery_app: Any) -> None:
    channel = RecordingChannel()
    app = await recovery_app(channels=[channel])
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await client.post("/password/reset-request", json={"email": "alice@example.com"})
    assert len(app.sender.of_kind("reset_password")) == 1
    assert [intent.kind for intent in channel.intents] == ["reset_password"]
    intent = channel.intents[0]
    assert intent.recipient == "alice@example.com"
    assert intent.user["email"] == "alice@example.com"
    assert "hashed_password" in intent.user
    assert "role" not in intent.user
    assert intent.token == app.sender.sent[0].token


async def test_channels_only_default_lifetime(recovery_app: Any) -> None:
    channel = RecordingChannel()
    app = await recovery_app(with_email=False, channels=[channel])
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        response = await client.post("/password/reset-request", json={"email": "alice@example.com"})
    assert response.status_code == 200
    assert channel.intents[0].expires_in == 3600
    # Without an emailing channel there is no email change.
    assert app.auth.emails.supports_email_change is False


async def test_configured_lifetime_used(recovery_app: Any) -> None:
    sender = RecordingSender()
    channel = RecordingChannel()
    app = await recovery_app(
        email_config=EmailConfig(sender=sender, frontend_url=FRONTEND, reset_ttl_hours=2),
        channels=[channel],
    )
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await client.post("/password/reset-request", json={"email": "alice@example.com"})
    assert channel.intents[0].expires_in == 7200
    assert sender.sent[0].context.expires_in == 7200


async def test_first_channel_failure_isolated(recovery_app: Any) -> None:
    class BrokenChannel(RecordingChannel):
        async def deliver(self, intent: Any, db: Any) -> None:
            raise RuntimeError("queue down")

    second = RecordingChannel()
    app = await recovery_app(with_email=False, channels=[BrokenChannel(), second])
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        response = await client.post("/email/verify-request", json={"email": "alice@example.com"})
    assert response.status_code == 200
    assert [intent.kind for intent in second.intents] == ["verify_email"]


async def test_channel_reads_app_column(recovery_app: Any) -> None:
    loaded: list[str | None] = []

    class NameChannel(RecordingChannel):
        async def deliver(self, intent: Any, db: Any) -> None:
            model = app.test_app.model
            row = (
                await db.execute(select(model).where(model.id == intent.user["id"]))
            ).scalar_one()
            loaded.append(row.full_name)

    app = await recovery_app(channels=[NameChannel()])
    await app.test_app.create_user(full_name="Alice Liddell")
    async with app.test_app.client() as client:
        await client.post("/password/reset-request", json={"email": "alice@example.com"})
    assert loaded == ["Alice Liddell"]


async def test_change_email_only_to_email_channels(recovery_app: Any) -> None:
    channel = RecordingChannel()
    app = await recovery_app(channels=[channel])
    user = await app.test_app.create_user()
    async with app.test_app.sessionmaker() as db:
        row = await app.auth.repo.get_by_id(db, user.id)
        await app.auth.emails.send_email_change(db, row, "new@example.com")
    assert channel.intents == []
    assert [mail.to for mail in app.sender.of_kind("change_email")] == ["new@example.com"]
