"""Phone recovery through an app-written channel, without an email column."""

from __future__ import annotations

from typing import Any

from fastapi import Depends
from pydantic import BaseModel
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import IdentityConfig, Principal, make_auth_identity
from recovery_support import RecordingChannel
from support import login

PHONE = "+15550100"


def phone_model() -> type[Any]:
    class Base(DeclarativeBase):
        pass

    class PhoneUser(
        Base, make_auth_identity(identifiers=["username"], recovery="phone", oauth=False)
    ):
        __tablename__ = "users"
        phone: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)

    return PhoneUser


class PhoneRegister(BaseModel):
    username: str
    phone: str
    password: str


async def phone_app(recovery_app: Any) -> tuple[Any, RecordingChannel]:
    channel = RecordingChannel()
    app = await recovery_app(
        with_email=False,
        model=phone_model(),
        identity=IdentityConfig(login=["username"], recovery="phone"),
        channels=[channel],
        register_schema=PhoneRegister,
        register_extra_fields={"phone"},
    )
    return app, channel


async def test_phone_verify_round_trip(recovery_app: Any) -> None:
    app, channel = await phone_app(recovery_app)
    gate = app.auth.current_user(verified=True)

    @app.test_app.app.get("/verified-only")
    async def verified_only(principal: Principal = Depends(gate)) -> dict[str, Any]:
        return {"ok": True}

    async with app.test_app.client() as client:
        registered = await client.post(
            "/register",
            json={
                "username": "ann",
                "phone": PHONE,
                "password": "Correct-Horse-1",
                "phone_verified": True,
            },
        )
        assert registered.status_code == 202, registered.text
        intent = channel.intents[0]
        assert intent.kind == "verify_recovery"
        assert intent.recipient == PHONE
        assert intent.expires_in == 86400
        assert intent.token

        assert (await login(client, username="ann")).status_code == 200
        assert (await client.get("/verified-only")).status_code == 403

        garbage = await client.post("/email/verify-confirm", json={"token": "garbage"})
        assert garbage.status_code == 400
        assert (await client.get("/verified-only")).status_code == 403

        confirmed = await client.post("/email/verify-confirm", json={"token": intent.token})
        assert confirmed.status_code == 200, confirmed.text
        assert (await client.get("/verified-only")).status_code == 200
        replay = await client.post("/email/verify-confirm", json={"token": intent.token})
        assert replay.status_code == 400


async def test_phone_request_body_shape(recovery_app: Any) -> None:
    app, channel = await phone_app(recovery_app)
    await app.test_app.create_user(email=None, username="ann", phone=PHONE)
    async with app.test_app.client() as client:
        by_phone = await client.post("/email/verify-request", json={"phone": PHONE})
        by_email = await client.post("/email/verify-request", json={"email": "a@example.com"})
        reset = await client.post("/password/reset-request", json={"phone": PHONE})
    assert by_phone.status_code == 200
    assert by_phone.json() == {
        "detail": "If an account exists, a verification message has been sent."
    }
    assert by_email.status_code == 422
    assert reset.json() == {
        "detail": "If an account exists, a password reset message has been sent."
    }
    assert [intent.kind for intent in channel.intents] == ["verify_recovery", "reset_password"]


async def test_phone_reset_round_trip(recovery_app: Any) -> None:
    app, channel = await phone_app(recovery_app)
    await app.test_app.create_user(email=None, username="ann", phone=PHONE)
    async with app.test_app.client() as client:
        assert (await login(client, username="ann")).status_code == 200
        await client.post("/password/reset-request", json={"phone": PHONE})
        token = channel.intents[-1].token
        confirmed = await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": "Brand-New-Pass-9"}
        )
        assert confirmed.status_code == 200, confirmed.text
        assert (await client.get("/me")).status_code == 401
        assert (await login(client, username="ann", password="Brand-New-Pass-9")).status_code == 200


async def test_phone_app_has_no_change_routes(recovery_app: Any) -> None:
    app, _channel = await phone_app(recovery_app)
    async with app.test_app.client() as client:
        response = await client.post(
            "/email/change-request", json={"new_email": "a@example.com", "password": "x"}
        )
        confirm = await client.post("/email/change-confirm", json={"token": "x"})
    assert response.status_code == 404
    assert confirm.status_code == 404
    assert app.auth.emails.supports_email_change is False


async def test_phone_channel_failure_isolated(recovery_app: Any) -> None:
    class BrokenChannel(RecordingChannel):
        async def deliver(self, intent: Any, db: Any) -> None:
            raise RuntimeError("sms gateway down")

    working = RecordingChannel()
    app = await recovery_app(
        with_email=False,
        model=phone_model(),
        identity=IdentityConfig(login=["username"], recovery="phone"),
        channels=[BrokenChannel(), working],
    )
    await app.test_app.create_user(email=None, username="ann", phone=PHONE)
    async with app.test_app.client() as client:
        response = await client.post("/password/reset-request", json={"phone": PHONE})
    assert response.status_code == 200
    assert [intent.kind for intent in working.intents] == ["reset_password"]
