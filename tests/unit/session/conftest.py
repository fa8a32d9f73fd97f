"""Fixtures for session unit tests: a round-trip-counting store and a movable clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from starlette.requests import Request

from crudauth.storage.backends.memory import MemorySessionStorage
from crudauth.storage.base import AbstractSessionStorage
from crudauth.transports.session.manager import SessionManager

SECRET = "unit-test-secret"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


class CountingStore(AbstractSessionStorage[Any]):
    """Delegate to a memory store and record each call, one call per round trip."""

    def __init__(self, prefix: str = "session:", expiration: int = 1800) -> None:
        super().__init__(prefix=prefix, expiration=expiration)
        self.inner: MemorySessionStorage[Any] = MemorySessionStorage(prefix, expiration)
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.fail_on: set[str] = set()
        self.indexed = True

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def _record(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if name in self.fail_on:
            from crudauth.exceptions import StoreUnavailableError

            raise StoreUnavailableError("test store")

    async def create(self, data: Any, session_id: str | None = None, expiration: Any = None) -> str:
        self._record("create", session_id, expiration)
        return await self.inner.create(data, session_id=session_id, expiration=expiration)

    async def get(self, session_id: str, model_class: Any) -> Any:
        self._record("get", session_id)
        return await self.inner.get(session_id, model_class)

    async def update(
        self, session_id: str, data: Any, reset_expiration: bool = True, expiration: Any = None
    ) -> bool:
        self._record("update", session_id)
        return await self.inner.update(session_id, data, reset_expiration, expiration)

    async def delete(self, session_id: str, user_id: Any = None) -> bool:
        self._record("delete", session_id)
        return await self.inner.delete(session_id, user_id)

    async def extend(self, session_id: str, expiration: Any = None) -> bool:
        self._record("extend", session_id, expiration)
        return await self.inner.extend(session_id, expiration)

    async def exists(self, session_id: str) -> bool:
        self._record("exists", session_id)
        return await self.inner.exists(session_id)

    async def modify(
        self,
        session_id: str,
        model_class: Any,
        change: Callable[[Any], None],
        reset_expiration: bool = True,
        expiration: Any = None,
    ) -> Any:
        self._record("modify", session_id, reset_expiration, expiration)
        return await self.inner.modify(
            session_id, model_class, change, reset_expiration, expiration
        )

    async def get_many(self, session_ids: Sequence[str], model_class: Any) -> list[Any]:
        self._record("get_many", tuple(session_ids))
        return await self.inner.get_many(session_ids, model_class)

    async def delete_many(self, session_ids: Sequence[str], user_id: Any = None) -> int:
        self._record("delete_many", tuple(session_ids))
        return await self.inner.delete_many(session_ids, user_id)

    async def get_user_sessions(self, user_id: Any) -> list[str]:
        self._record("get_user_sessions", user_id)
        if not self.indexed:
            raise NotImplementedError("no index")
        return await self.inner.get_user_sessions(user_id)

    async def remove_from_user_index(self, user_id: Any, session_id: str) -> None:
        self._record("remove_from_user_index", user_id, session_id)
        await self.inner.remove_from_user_index(user_id, session_id)

    async def scan_keys(self, match: str | None = None) -> list[str]:
        self._record("scan_keys", match)
        return await self.inner.scan_keys(match)


class Clock:
    """A settable UTC clock for ``SessionManager._now``."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def build_request(
    cookies: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    client: tuple[str, int] = ("203.0.113.9", 5000),
) -> Request:
    """Build a bare Starlette request with the given cookies and headers."""
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if cookies:
        cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        raw_headers.append((b"cookie", cookie.encode()))
    scope = {
        "type": "http",
        "method": method,
        "path": "/",
        "headers": raw_headers,
        "client": client,
        "query_string": b"",
    }
    return Request(scope)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stores() -> tuple[CountingStore, CountingStore]:
    return CountingStore("session:"), CountingStore("csrf:")


@pytest.fixture
def manager(stores: tuple[CountingStore, CountingStore], clock: Clock) -> SessionManager:
    sessions, csrf = stores
    built = SessionManager(sessions, csrf_storage=csrf, key_secret=SECRET)
    built._now = lambda: clock.now  # type: ignore[method-assign]
    return built


@pytest.fixture(name="make_request")
def make_request_fixture() -> Callable[..., Request]:
    """Return ``make_request(cookies=None, headers=None, method="GET")``."""
    return build_request


@pytest.fixture(name="make_store")
def make_store_fixture() -> type[CountingStore]:
    """Return the ``CountingStore`` class: ``make_store(prefix)``."""
    return CountingStore
