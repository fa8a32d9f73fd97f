"""Fixtures for passkey route tests: an app with sudo, passkeys and a sudo route."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fastapi import Depends, Request
from pydantic import BaseModel

from crudauth import Principal, SudoConfig
from passkey_support import passkey_config


class SudoIn(BaseModel):
    password: str


@pytest.fixture
def make_passkey_app(make_app: Any) -> Callable[..., Awaitable[Any]]:
    """Return ``factory(model=None, **crudauth_kwargs)`` with a ``POST /sudo`` route."""

    async def factory(model: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("sudo", SudoConfig())
        kwargs.setdefault("passkeys", passkey_config())
        test_app = await make_app(model=model, **kwargs)
        auth = test_app.auth

        @test_app.app.post("/sudo")
        async def sudo(
            body: SudoIn, request: Request, me: Principal = Depends(auth.current_user())
        ) -> dict[str, str]:
            until = await auth.sudo.elevate(me, body.password, request=request)
            return {"elevated_until": until.isoformat()}

        return test_app

    return factory
