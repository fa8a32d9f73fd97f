"""Helpers for the attack scenarios: cookie parsing and one-credential probes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from crudauth import SessionTransport
from crudauth.storage import DatabaseStore
from oauth_support import fake_provider_module
from recovery_support import REDIS_URL


def identity(**changes: Any) -> Any:
    """An account at the fake provider."""
    return fake_provider_module().Identity(**changes)


def cookie_headers(response: httpx.Response, name: str) -> list[str]:
    """Return the ``Set-Cookie`` headers of ``response`` that set ``name``."""
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]


def cookie_attributes(header: str) -> dict[str, str]:
    """Parse one ``Set-Cookie`` header into lower-cased attribute names and values."""
    parts = [part.strip() for part in header.split(";")]
    name, _, value = parts[0].partition("=")
    attributes = {"name": name, "value": value.strip('"')}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        attributes[key.lower()] = val.lower() if key.lower() == "samesite" else val
    return attributes


def cleared(response: httpx.Response, name: str) -> bool:
    """Whether ``response`` expires the cookie ``name``."""
    for header in cookie_headers(response, name):
        attributes = cookie_attributes(header)
        if attributes.get("max-age") == "0" or attributes["value"] == "":
            return True
    return False


async def me_status(test_app: Any, session_id: str | None = None, token: str | None = None) -> int:
    """``GET /me`` from a clean client with just one credential; return the status."""
    async with test_app.client() as client:
        if session_id is not None:
            plant(client, session_id)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return (await client.get("/me", headers=headers)).status_code


def plant(client: httpx.AsyncClient, value: str, name: str = "session_id") -> None:
    """Put a cookie in ``client``'s jar as if the server had set it."""
    client.cookies.set(name, value, domain="testserver.local")


async def prepare(backend: Any) -> None:
    """Create the database store's tables when the backend needs them."""
    for store in backend.stores:
        await store.create_tables()


def full_kwargs() -> dict[str, Any]:
    """``CRUDAuth`` arguments with both transports, management routes and email."""
    from crudauth import BearerTransport, EmailConfig, SessionTransport
    from recovery_support import FRONTEND, RecordingSender

    return {
        "transports": [SessionTransport(management_routes=True), BearerTransport(refresh="body")],
        "email": EmailConfig(sender=RecordingSender(), frontend_url=FRONTEND),
    }


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
    for store in stores:
        await store.dispose()
    for engine in engines:
        await engine.dispose()
