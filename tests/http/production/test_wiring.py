"""Which backend each store uses, the lifespan calls, the warning and proxy hops.

These build ``CRUDAuth`` without touching a server: Redis clients are fakes that
record the calls the lifespan makes on them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

import crudauth.storage.backends.redis as redis_backend
from crudauth import AuthUserMixin, CRUDAuth, SessionTransport
from crudauth.crud_auth import MEMORY_TOKEN_STORES
from crudauth.ratelimit import MemoryRateLimiterBackend, RateLimit
from crudauth.ratelimit.backends.database import DatabaseRateLimiterBackend
from crudauth.ratelimit.backends.redis import RedisBackend
from crudauth.storage import (
    DatabaseSessionStorage,
    DatabaseStore,
    MemorySessionStorage,
    RedisSessionStorage,
)
from support import login


class FakeRedis:
    """Records lifespan calls; any other use would fail loudly."""

    def __init__(self, name: str = "client", fail_close: bool = False) -> None:
        self.name = name
        self.fail_close = fail_close
        self.pings = 0
        self.closed = 0

    async def ping(self) -> bool:
        self.pings += 1
        return True

    async def expire(self, key: str, seconds: int, **options: Any) -> bool:
        return False

    async def script_load(self, script: str) -> str:
        return "sha"

    async def aclose(self) -> None:
        self.closed += 1
        if self.fail_close:
            raise RuntimeError(f"{self.name} close failed")


def user_model() -> type[Any]:
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        pass

    class User(Base, AuthUserMixin):
        __tablename__ = "users"

    return User


async def get_db() -> AsyncIterator[None]:
    yield None


def build(**kwargs: Any) -> CRUDAuth:
    kwargs.setdefault("warn_on_memory_backend", False)
    return CRUDAuth(session=get_db, user_model=user_model(), SECRET_KEY="k" * 40, **kwargs)


@pytest.fixture
def database(tmp_path: Path) -> DatabaseStore:
    return DatabaseStore(create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 's.db'}"))


# -- rate limiter ------------------------------------------------------------------------


def test_explicit_limiter_wins_over_redis() -> None:
    explicit = MemoryRateLimiterBackend()
    auth = build(rate_limiter=explicit, redis_client=FakeRedis())
    assert auth.rate_limiter is explicit


def test_redis_limiter_uses_shared_client() -> None:
    client = FakeRedis()
    default = build(redis_client=client).rate_limiter
    assert isinstance(default, RedisBackend)
    assert default.client is client
    assert default.prefix == "crudauth:rl:"
    custom = build(redis_client=client, rate_limit_prefix="app2:rl:").rate_limiter
    assert isinstance(custom, RedisBackend)
    assert custom.prefix == "app2:rl:"


def test_database_limiter_takes_prefix(database: DatabaseStore) -> None:
    default = build(database_store=database).rate_limiter
    assert isinstance(default, DatabaseRateLimiterBackend)
    assert default.prefix == ""
    custom = build(database_store=database, rate_limit_prefix="app2:").rate_limiter
    assert isinstance(custom, DatabaseRateLimiterBackend)
    assert custom.prefix == "app2:"


def test_memory_limiter_by_default() -> None:
    assert isinstance(build().rate_limiter, MemoryRateLimiterBackend)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"redis_url": "redis://127.0.0.1:1/0", "redis_client": object()}, "redis_client"),
        ({"redis_client": object(), "database_store": "store"}, "database_store"),
        ({"rate_limiter": MemoryRateLimiterBackend(), "rate_limit_prefix": "x:"}, "prefix"),
    ],
)
def test_conflicting_store_options_raise(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(**kwargs)


# -- sessions and CSRF -------------------------------------------------------------------


def session_stores(auth: CRUDAuth) -> tuple[Any, Any]:
    return auth.sessions.storage, auth.sessions.csrf_storage


def test_custom_storage_wins() -> None:
    storage, csrf = MemorySessionStorage(), MemorySessionStorage(prefix="csrf:")
    auth = build(
        transports=[SessionTransport(storage=storage, csrf_storage=csrf)],
        redis_client=FakeRedis(),
    )
    assert session_stores(auth) == (storage, csrf)
    assert auth.transports[0].backend == "custom"


def test_transport_client_wins_over_app_client() -> None:
    own, shared = FakeRedis("own"), FakeRedis("shared")
    auth = build(transports=[SessionTransport(redis_client=own)], redis_client=shared)
    storage, csrf = session_stores(auth)
    assert isinstance(storage, RedisSessionStorage)
    assert storage.client is own
    assert csrf.client is own


def test_app_client_used_unless_forced_memory() -> None:
    shared = FakeRedis()
    storage, _ = session_stores(build(redis_client=shared))
    assert isinstance(storage, RedisSessionStorage)
    assert storage.client is shared
    forced = build(transports=[SessionTransport(backend="memory")], redis_client=shared)
    assert isinstance(session_stores(forced)[0], MemorySessionStorage)


def test_database_store_for_sessions(database: DatabaseStore) -> None:
    storage, csrf = session_stores(build(database_store=database))
    assert isinstance(storage, DatabaseSessionStorage)
    assert isinstance(csrf, DatabaseSessionStorage)
    assert (storage.prefix, csrf.prefix) == ("session:", "csrf:")


def test_database_backend_needs_store() -> None:
    with pytest.raises(ValueError, match="database_store"):
        build(transports=[SessionTransport(backend="database")])


def test_redis_backend_builds_default_client(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Any] = []

    def fake_from_url(url: str | None = None) -> FakeRedis:
        built.append(url)
        return FakeRedis("default")

    monkeypatch.setattr(redis_backend, "redis_client_from_url", fake_from_url)
    auth = build(transports=[SessionTransport(backend="redis")])
    assert built == [None]
    assert auth.transports[0].backend == "redis"


def test_memory_sessions_by_default() -> None:
    auth = build()
    assert isinstance(session_stores(auth)[0], MemorySessionStorage)
    assert auth.transports[0].backend == "memory"


# -- auxiliary one-time stores -----------------------------------------------------------


def test_auxiliary_store_order(database: DatabaseStore) -> None:
    shared = FakeRedis()
    on_redis = build(redis_client=shared).auxiliary_storage("used_token:", 60)
    assert isinstance(on_redis, RedisSessionStorage)
    assert on_redis.client is shared

    on_database = build(database_store=database).auxiliary_storage("used_token:", 60)
    assert isinstance(on_database, DatabaseSessionStorage)

    own = FakeRedis("own")
    following = build(transports=[SessionTransport(redis_client=own)]).auxiliary_storage(
        "used_token:", 60
    )
    assert isinstance(following, RedisSessionStorage)
    assert following.client is own

    custom = SessionTransport(storage=MemorySessionStorage(), csrf=False)
    beside_custom = build(transports=[custom]).auxiliary_storage("used_token:", 60)
    assert isinstance(beside_custom, MemorySessionStorage)
    assert isinstance(build().auxiliary_storage("used_token:", 60), MemorySessionStorage)


# -- start-up warning --------------------------------------------------------------------


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "crudauth" and "in-memory backend" in record.getMessage()
    ]


def test_memory_warning_lists_each_part(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="crudauth"):
        auth = build(warn_on_memory_backend=True)
    (message,) = warnings_logged(caplog)
    assert "rate limiter (lockout/throttle counters)" in message
    assert "sessions/CSRF" in message
    assert "redis_url=" in message
    assert "warn_on_memory_backend=False" in message
    assert auth is not None


def test_memory_warning_names_memory_limiter(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="crudauth"):
        build(
            warn_on_memory_backend=True,
            redis_client=FakeRedis(),
            rate_limiter=MemoryRateLimiterBackend(),
        )
    (message,) = warnings_logged(caplog)
    assert "rate limiter" in message
    assert "sessions/CSRF" not in message
    assert MEMORY_TOKEN_STORES not in message


def test_no_warning_on_shared_backends(
    caplog: pytest.LogCaptureFixture, database: DatabaseStore
) -> None:
    with caplog.at_level(logging.WARNING, logger="crudauth"):
        build(warn_on_memory_backend=True, redis_client=FakeRedis())
        build(warn_on_memory_backend=True, database_store=database)
        build(warn_on_memory_backend=False)
    assert warnings_logged(caplog) == []


# -- initialize and shutdown -------------------------------------------------------------


async def test_owned_client_closed_borrowed_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    owned = FakeRedis("owned")
    monkeypatch.setattr(redis_backend, "redis_client_from_url", lambda url=None: owned)
    auth = build(redis_url="redis://127.0.0.1:6399/0")
    auth.auxiliary_storage("used_token:", 60)
    await auth.initialize()
    # The limiter, the session and CSRF stores, the security log and the auxiliary
    # store each ping.
    assert owned.pings == 5
    await auth.shutdown()
    assert owned.closed == 1

    borrowed = FakeRedis("borrowed")
    auth = build(redis_client=borrowed)
    await auth.initialize()
    await auth.shutdown()
    assert borrowed.closed == 0


class FailingClose(MemorySessionStorage):
    def __init__(self, name: str, calls: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.calls = calls

    async def close(self) -> None:
        self.calls.append(self.name)
        raise RuntimeError(f"{self.name} close failed")


class RecordingLimiter(MemoryRateLimiterBackend):
    def __init__(self, calls: list[str]) -> None:
        super().__init__()
        self.calls = calls

    async def close(self) -> None:
        self.calls.append("limiter")


async def test_shutdown_runs_every_closer(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []
    transport = SessionTransport(
        storage=FailingClose("sessions", calls),
        csrf_storage=FailingClose("csrf", calls, prefix="csrf:"),
    )
    auth = build(transports=[transport], rate_limiter=RecordingLimiter(calls))
    await auth.initialize()
    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="sessions close"):
        await auth.shutdown()
    assert calls == ["sessions", "csrf", "limiter"]


# -- trusted proxy hops ------------------------------------------------------------------


@pytest.mark.parametrize(("hops", "expected_ip"), [(0, "127.0.0.1"), (1, "203.0.113.7")])
async def test_proxy_hops_feed_sessions_and_limits(
    make_app: Any, hops: int, expected_ip: str
) -> None:
    test_app = await make_app(
        trusted_proxy_hops=hops,
        transports=[SessionTransport(management_routes=True)],
        rate_limits={"csrf_refresh": RateLimit(1, 3600)},
    )
    await test_app.create_user()
    forwarded = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    async with test_app.client(headers=forwarded) as client:
        await login(client)
        (row,) = (await client.get("/sessions")).json()
        assert row["ip"] == expected_ip
        assert (await client.post("/csrf/refresh")).status_code == 200

        # A client behind another address has its own budget only when hops are trusted.
        other = {"X-Forwarded-For": "198.51.100.1, 203.0.113.8"}
        second = await client.post("/csrf/refresh", headers=other)
        assert second.status_code == (200 if hops else 429)


class FailingLimiter(MemoryRateLimiterBackend):
    async def close(self) -> None:
        raise RuntimeError("limiter close failed")


async def test_owned_client_closed_after_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    owned = FakeRedis("owned", fail_close=True)
    monkeypatch.setattr(redis_backend, "redis_client_from_url", lambda url=None: owned)
    auth = build(redis_url="redis://127.0.0.1:6399/0", rate_limiter=FailingLimiter())
    await auth.initialize()
    with pytest.raises(RuntimeError, match="limiter close failed"):
        await auth.shutdown()
    assert owned.closed == 1
