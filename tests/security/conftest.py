"""A fully configured app for the attack scenarios and the helpers they share.

``secure_app(**overrides)`` builds session and bearer transports with management
routes, email recovery over a recording sender, the fake OpenID Connect provider and
raised limits, so a scenario turns off only what it tests.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from crudauth import BearerTransport, EmailConfig, SessionTransport
from crudauth.ratelimit import LockoutConfig, RateLimit
from crudauth.storage import DatabaseStore
from oauth_support import CLIENT_ID, CLIENT_SECRET, fake_provider_module, oidc_model, oidc_settings
from recovery_support import FRONTEND, REDIS_URL, RecordingSender
from support import BOB

ROOMY = RateLimit(1000, 3600)
ROOMY_LIMITS = {
    name: ROOMY
    for name in (
        "register",
        "email_verify_request",
        "password_reset_request",
        "email_change_request",
        "existing_account_notice",
        "change_password",
        "logout_all",
        "csrf_refresh",
        "oauth_authorize",
    )
}
CAROL = {"email": "carol@example.com", "username": "carol", "password": "Carol-Pass-33"}


@pytest.fixture(scope="session")
def provider_server() -> Iterator[Any]:
    module = fake_provider_module()
    running = module.RunningProvider(module.FakeProvider()).start()
    yield running
    running.stop()


@pytest.fixture
def fake(provider_server: Any) -> Any:
    """The running fake provider, reset and knowing the test client."""
    provider = provider_server.provider
    provider.reset()
    provider.clients = {CLIENT_ID: CLIENT_SECRET}
    return provider_server


SecureFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
def secure_app(make_app: Any, fake: Any) -> SecureFactory:
    """Return ``build(**overrides) -> TestApp`` with every feature on.

    ``extras["sender"]`` is the recording sender. ``oauth=False`` leaves OAuth out.
    """

    async def build(*, oauth: bool = True, accounts: bool = True, **overrides: Any) -> Any:
        sender = RecordingSender()
        kwargs: dict[str, Any] = {
            "transports": [
                SessionTransport(management_routes=True),
                BearerTransport(refresh="body"),
            ],
            "email": EmailConfig(sender=sender, frontend_url=FRONTEND),
            "rate_limits": dict(ROOMY_LIMITS),
            "lockout": LockoutConfig(max_attempts=1000),
        }
        if oauth:
            kwargs.update(oidc_settings(fake))
        kwargs.update(overrides)
        test_app = await make_app(oidc_model(), **kwargs)
        test_app.extras["sender"] = sender
        test_app.extras["fake"] = fake
        if accounts:
            await test_app.create_user(email_verified=True)
            await test_app.create_user(
                email=BOB["email"],
                username=BOB["username"],
                password=BOB["password"],
                email_verified=True,
            )
        return test_app

    return build


def backend_params() -> list[Any]:
    return [
        "memory",
        pytest.param(
            "redis",
            marks=[pytest.mark.redis, pytest.mark.skipif(REDIS_URL is None, reason="no Redis")],
        ),
        "database",
    ]


@pytest.fixture(params=backend_params())
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[..., dict[str, Any]]]:
    """Return ``kwargs(**transport_options)``: store settings for one backend.

    The result holds ``transports`` (a managed session transport) plus the store
    arguments of ``CRUDAuth``, all under a name space of their own.
    """
    kind = str(request.param)
    namespace = f"sec{uuid.uuid4().hex[:10]}"
    engines: list[Any] = []
    stores: list[Any] = []

    def kwargs(**options: Any) -> dict[str, Any]:
        options.setdefault("management_routes", True)
        result: dict[str, Any] = {}
        if kind == "redis":
            options.setdefault("storage_prefix", f"{namespace}:session:")
            options.setdefault("csrf_storage_prefix", f"{namespace}:csrf:")
            result.update(redis_url=REDIS_URL, rate_limit_prefix=f"{namespace}:rl:")
        elif kind == "database":
            engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")
            engines.append(engine)
            store = DatabaseStore(
                engine,
                metadata=MetaData(),
                store_table=f"{namespace}_store",
                counter_table=f"{namespace}_counters",
            )
            stores.append(store)
            result["database_store"] = store
        result["transports"] = [SessionTransport(**options)]
        return result

    kwargs.kind = kind  # type: ignore[attr-defined]
    kwargs.stores = stores  # type: ignore[attr-defined]
    yield kwargs
    if kind == "redis":
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(REDIS_URL or "")
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    for engine in engines:
        await engine.dispose()
