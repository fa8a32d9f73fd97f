"""EmailConfig, the built-in channel, the public types and construction checks."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import crudauth
from crudauth import (
    CRUDAuth,
    EmailChannel,
    EmailConfig,
    EmailContext,
    IdentityConfig,
    make_auth_identity,
)
from crudauth.email.constants import EMAIL_KINDS
from recovery_support import RecordingChannel, RecordingSender


def test_link_strips_trailing_slash() -> None:
    config = EmailConfig(sender=RecordingSender(), frontend_url="https://app.example.com/")
    link = config.link("/reset-password", "abc.def.ghi")
    assert link == "https://app.example.com/reset-password?token=abc.def.ghi"


def test_empty_frontend_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="crudauth"):
        config = EmailConfig(sender=RecordingSender())
    assert "host-less" in caplog.text
    assert config.link("/verify-email", "t") == "/verify-email?token=t"


def test_invalid_lifetime_raises() -> None:
    with pytest.raises(ValueError, match="reset_ttl_hours"):
        EmailConfig(sender=RecordingSender(), frontend_url="https://x", reset_ttl_hours=0)


def test_context_has_four_fields() -> None:
    names = [field.name for field in dataclasses.fields(EmailContext)]
    assert names == ["kind", "link", "recipient", "expires_in"]


def test_kinds_in_order() -> None:
    assert EMAIL_KINDS == (
        "verify_email",
        "verify_recovery",
        "reset_password",
        "change_email",
        "welcome",
        "existing_account",
        "email_changed",
    )


async def test_channel_verify_body_exact() -> None:
    sender = RecordingSender()
    channel = EmailChannel(EmailConfig(sender=sender, frontend_url="https://app.example.com"))
    intent = crudauth.DeliveryIntent(
        kind="verify_email", token="tok", user={}, recipient="a@example.com", expires_in=60
    )
    await channel.deliver(intent, None)
    mail = sender.sent[0]
    assert mail.body == "Verify your email: https://app.example.com/verify-email?token=tok"
    assert mail.context == EmailContext(
        kind="verify_email",
        link="https://app.example.com/verify-email?token=tok",
        recipient="a@example.com",
        expires_in=60,
    )


async def test_channel_rejects_welcome() -> None:
    channel = EmailChannel(EmailConfig(sender=RecordingSender(), frontend_url="https://x"))
    intent = crudauth.DeliveryIntent(
        kind="welcome", token=None, user={}, recipient="a@example.com", expires_in=0
    )
    with pytest.raises(ValueError, match="welcome"):
        await channel.deliver(intent, None)


def test_root_exports() -> None:
    for name in [
        "EmailConfig",
        "EmailFlowResult",
        "EmailSender",
        "EmailContext",
        "DeliveryChannel",
        "DeliveryIntent",
        "DeliveryKind",
        "EmailChannel",
        "EmailFlowService",
    ]:
        assert name in crudauth.__all__
        assert getattr(crudauth, name) is getattr(crudauth.email, name)


async def no_db() -> Any:
    yield None


def username_only_model() -> type[Any]:
    class Base(DeclarativeBase):
        pass

    class Anonymous(Base, make_auth_identity(identifiers=["username"], recovery=None)):
        __tablename__ = "users"

    return Anonymous


def test_email_needs_recovery_factor() -> None:
    with pytest.raises(ValueError, match="recovery factor"):
        CRUDAuth(
            session=no_db,
            user_model=username_only_model(),
            SECRET_KEY="k" * 40,
            identity=IdentityConfig(login=["username"], recovery=None),
            channels=[RecordingChannel()],
            warn_on_memory_backend=False,
        )


def test_email_needs_email_column() -> None:
    class Base(DeclarativeBase):
        pass

    class PhoneUser(Base, make_auth_identity(identifiers=["username"], recovery="phone")):
        __tablename__ = "users"
        phone: Mapped[str] = mapped_column(String(32), unique=True)

    with pytest.raises(ValueError, match="email"):
        CRUDAuth(
            session=no_db,
            user_model=PhoneUser,
            SECRET_KEY="k" * 40,
            identity=IdentityConfig(login=["username"], recovery="phone"),
            email=EmailConfig(sender=RecordingSender(), frontend_url="https://x"),
            warn_on_memory_backend=False,
        )


def test_wrong_types_rejected() -> None:
    from support import default_model

    with pytest.raises(TypeError, match="EmailConfig"):
        CRUDAuth(
            session=no_db,
            user_model=default_model(),
            SECRET_KEY="k" * 40,
            email={"sender": RecordingSender()},  # type: ignore[arg-type]
            warn_on_memory_backend=False,
        )
    with pytest.raises(TypeError, match="DeliveryChannel"):
        CRUDAuth(
            session=no_db,
            user_model=default_model(),
            SECRET_KEY="k" * 40,
            channels=[object()],  # type: ignore[list-item]
            warn_on_memory_backend=False,
        )


async def test_recovery_off_without_settings(make_app: Any) -> None:
    test_app = await make_app()
    assert test_app.auth.emails is None
    async with test_app.client() as client:
        response = await client.post("/password/reset-request", json={"email": "a@b.co"})
    assert response.status_code == 404
