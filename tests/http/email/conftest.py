"""Fixtures for the recovery flows: a recording sender and apps on each store."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from crudauth import EmailConfig
from recovery_support import FRONTEND, REDIS_URL, RecordingSender


def store_params() -> list[Any]:
    return [
        "memory",
        pytest.param(
            "redis",
            marks=[
                pytest.mark.redis,
                pytest.mark.skipif(REDIS_URL is None, reason="Redis not started"),
            ],
        ),
    ]


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest) -> str:
    """The backend of one-time tokens and counters: ``memory`` or ``redis``."""
    return str(request.param)


def store_kwargs(store: str) -> dict[str, Any]:
    if store == "redis":
        assert REDIS_URL is not None
        return {"redis_url": REDIS_URL, "rate_limit_prefix": f"test-{uuid.uuid4().hex}:"}
    return {}


@dataclass
class RecoveryApp:
    """An app with recovery on, its sender and the pieces tests reach for."""

    test_app: Any
    sender: RecordingSender
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def auth(self) -> Any:
        return self.test_app.auth


RecoveryFactory = Callable[..., Awaitable[RecoveryApp]]


@pytest.fixture
def recovery_app(make_app: Any, store: str) -> RecoveryFactory:
    """Return ``build(email_config=None, **crudauth_kwargs) -> RecoveryApp``.

    Without ``email_config`` the app gets an ``EmailConfig`` over a recording sender
    and the frontend ``https://app.example.com``.
    """

    async def build(
        email_config: EmailConfig | None = None, with_email: bool = True, **kwargs: Any
    ) -> RecoveryApp:
        sender = RecordingSender()
        if with_email:
            kwargs["email"] = email_config or EmailConfig(sender=sender, frontend_url=FRONTEND)
        for name, value in store_kwargs(store).items():
            kwargs.setdefault(name, value)
        test_app = await make_app(**kwargs)
        return RecoveryApp(test_app=test_app, sender=sender)

    return build
