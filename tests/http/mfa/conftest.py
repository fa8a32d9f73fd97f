"""Fixtures for MFA route tests: an app with the MFA columns and a frozen TOTP clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from crudauth import BearerTransport, SessionTransport
from mfa_support import FrozenClock, mfa_config, mfa_model


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def make_mfa_app(make_app: Any, clock: FrozenClock) -> Callable[..., Awaitable[Any]]:
    """Return ``factory(**crudauth_kwargs)``: session and body-mode bearer, MFA on."""

    async def factory(**kwargs: Any) -> Any:
        kwargs.setdefault("mfa", mfa_config())
        kwargs.setdefault("transports", [SessionTransport(), BearerTransport(refresh="body")])
        test_app = await make_app(model=mfa_model(), **kwargs)
        test_app.auth.mfa.clock = clock
        return test_app

    return factory
