"""Session activity is written at most once per activity window, on every backend.

The manager's clock is moved forward instead of sleeping. Writes are counted at the
session store's write methods for the session's own key and, on the database store,
as SQL ``UPDATE`` statements on the store table that name that key.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event

from crudauth.ratelimit import LockoutConfig
from crudauth.storage.backends._sql import stored_key
from security_support import prepare
from support import login

WINDOW_SECONDS = 60
TIMEOUT_MINUTES = 30
WRITE_METHODS = ("create", "update", "modify", "extend")
# Set while a counted write runs in this task, so nested writes are not counted again.
INSIDE_WRITE: contextvars.ContextVar[bool] = contextvars.ContextVar("inside", default=False)


class SessionWrites:
    """Counts store writes to one session record: port calls and SQL ``UPDATE``s."""

    def __init__(self, test_app: Any, session_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
        manager = test_app.auth.sessions
        storage = manager.storage
        self.key = manager.keys.session_key(session_id)
        self.calls = 0
        self.sql_updates = 0
        for name in WRITE_METHODS:
            monkeypatch.setattr(storage, name, self._counting(getattr(storage, name)))
        self.database = getattr(storage, "database", None)
        if self.database is not None:
            engine = self.database.sessions.kw["bind"].sync_engine
            self.row_key = stored_key(storage.get_key(self.key))
            self.table = self.database.store.name
            event.listen(engine, "before_cursor_execute", self._count_sql)
            self._engine = engine

    def _counting(self, method: Callable[..., Any]) -> Callable[..., Any]:
        async def counted(session_key: str, *args: Any, **kwargs: Any) -> Any:
            # A write method built on another (modify over update) counts once.
            if session_key == self.key and not INSIDE_WRITE.get():
                self.calls += 1
            token = INSIDE_WRITE.set(True)
            try:
                return await method(session_key, *args, **kwargs)
            finally:
                INSIDE_WRITE.reset(token)

        return counted

    def _count_sql(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        text = statement.lstrip().upper()
        if not text.startswith("UPDATE") or self.table.upper() not in text:
            return
        values = params.values() if isinstance(params, dict) else params
        if self.row_key in [value for value in values if isinstance(value, str)]:
            self.sql_updates += 1

    def close(self) -> None:
        if self.database is not None:
            event.remove(self._engine, "before_cursor_execute", self._count_sql)


def move_clock(test_app: Any, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    later = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    monkeypatch.setattr(test_app.auth.sessions, "_now", lambda: later)


async def activity_app(make_app: Any, backend: Any, **options: Any) -> Any:
    options.setdefault("activity_interval_seconds", WINDOW_SECONDS)
    options.setdefault("session_timeout_minutes", TIMEOUT_MINUTES)
    test_app = await make_app(**backend(**options), lockout=LockoutConfig(max_attempts=1000))
    await prepare(backend)
    await test_app.create_user()
    return test_app


async def last_activity(client: Any) -> str:
    [row] = (await client.get("/sessions")).json()
    return str(row["last_activity"])


async def test_requests_within_window_write_nothing(
    make_app: Any, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_app = await activity_app(make_app, backend)
    async with test_app.client() as alice:
        assert (await login(alice)).status_code == 200
        writes = SessionWrites(test_app, alice.cookies["session_id"], monkeypatch)
        try:
            first_seen = await last_activity(alice)
            for _ in range(100):
                assert (await alice.get("/me")).status_code == 200
            burst = await asyncio.gather(*(alice.get("/me") for _ in range(20)))
            assert [response.status_code for response in burst] == [200] * 20
            assert writes.calls <= 1
            assert writes.sql_updates <= 1
            assert await last_activity(alice) == first_seen
            before = writes.calls

            move_clock(test_app, monkeypatch, WINDOW_SECONDS + 1)
            assert (await alice.get("/me")).status_code == 200
            assert writes.calls == before + 1
            if writes.database is not None:
                assert writes.sql_updates == before + 1
            moved = await last_activity(alice)
            assert moved != first_seen
            for _ in range(5):
                assert (await alice.get("/me")).status_code == 200
            assert writes.calls == before + 1
            assert await last_activity(alice) == moved
        finally:
            writes.close()


async def test_idle_session_still_expires(
    make_app: Any, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_app = await activity_app(make_app, backend)
    async with test_app.client() as alice:
        assert (await login(alice)).status_code == 200
        move_clock(test_app, monkeypatch, TIMEOUT_MINUTES * 60 - WINDOW_SECONDS)
        assert (await alice.get("/me")).status_code == 200
        # Idle since that request: expired within the idle timeout plus the window.
        move_clock(test_app, monkeypatch, 2 * TIMEOUT_MINUTES * 60)
        assert (await alice.get("/me")).status_code == 401


async def test_zero_window_writes_every_request(
    make_app: Any, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_app = await activity_app(make_app, backend, activity_interval_seconds=0)
    async with test_app.client() as alice:
        assert (await login(alice)).status_code == 200
        writes = SessionWrites(test_app, alice.cookies["session_id"], monkeypatch)
        try:
            for _ in range(5):
                assert (await alice.get("/me")).status_code == 200
        finally:
            writes.close()
    assert writes.calls == 5
