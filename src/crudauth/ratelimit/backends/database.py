"""Rate-limit counters in the counter table of a ``DatabaseStore``."""

from __future__ import annotations

import math
import time
from typing import Any

from sqlalchemy import and_, case, delete, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from crudauth.ratelimit.base import RateLimiterBackend
from crudauth.storage.backends._sql import (
    now_ms,
    on_conflict_update,
    stored_key,
    upsert_statement,
    upserts_returning,
)
from crudauth.storage.backends.database import DatabaseStore

__all__ = ["DatabaseRateLimiterBackend"]


class DatabaseRateLimiterBackend(RateLimiterBackend):
    """Counters stored as ``prefix + key`` rows with an expiry in epoch milliseconds.

    Each increment is one upsert. A counter whose expiry has passed restarts at the
    increment amount with a fresh expiry in the same statement, so expired rows never
    need a separate cleanup before use. Database failures raise
    ``StoreUnavailableError``, except in ``ping``.

    Args:
        database: The store whose counter table contains the rows.
        prefix: Prefix of every counter key.

    Example:
        ```python
        store = DatabaseStore(engine)
        limiter = DatabaseRateLimiterBackend(store, prefix="myapp:")
        ```
    """

    def __init__(self, database: DatabaseStore, prefix: str = "") -> None:
        self.database = database
        self.prefix = prefix
        self.table = database.counters

    def _key(self, key: str) -> str:
        return stored_key(self.prefix + key)

    def window_clock(self) -> float:
        return time.time()

    async def _add(self, key: str, amount: int, expiry: int | None, *, refresh: bool) -> int:
        table = self.table
        row_key = self._key(key)
        now = now_ms()
        fresh_expiry = None if expiry is None else now + expiry * 1000
        expired = and_(table.c.expires_at.is_not(None), table.c.expires_at <= now)
        restart_or_add = case((expired, amount), else_=table.c.count + amount)
        if refresh and fresh_expiry is not None:
            next_expiry: Any = fresh_expiry
        else:
            # Armed only when the row is created or restarts after expiry.
            next_expiry = case((expired, fresh_expiry), else_=table.c.expires_at)

        async def work(session: AsyncSession) -> int:
            insert = upsert_statement(
                session, table, {"key": row_key, "count": amount, "expires_at": fresh_expiry}
            )
            # The counter and its expiry change in one statement, so concurrent workers
            # never lose an increment or leave a counter without its TTL.
            statement = on_conflict_update(
                session,
                insert,
                table.c.key,
                {"count": restart_or_add, "expires_at": next_expiry},
            )
            if upserts_returning(session):
                return int((await session.execute(statement.returning(table.c.count))).scalar_one())
            # NOTE: the MySQL read-back path is written but untested here.
            await session.execute(statement)
            query = select(table.c.count).where(table.c.key == row_key)
            return int((await session.execute(query)).scalar_one())

        count = await self.database.run(work)
        await self.database.note_write()
        return count

    async def increment(self, key: str, amount: int = 1, expiry: int | None = None) -> int:
        return await self._add(key, amount, expiry, refresh=False)

    async def increment_and_refresh_ttl(
        self, key: str, amount: int = 1, expiry: int | None = None
    ) -> int:
        return await self._add(key, amount, expiry, refresh=True)

    def _live(self, now: int) -> Any:
        return or_(self.table.c.expires_at.is_(None), self.table.c.expires_at > now)

    async def _read(self, key: str) -> tuple[int, int | None] | None:
        table = self.table
        query = select(table.c.count, table.c.expires_at).where(
            table.c.key == self._key(key), self._live(now_ms())
        )

        async def work(session: AsyncSession) -> tuple[int, int | None] | None:
            row = (await session.execute(query)).one_or_none()
            return None if row is None else (int(row[0]), row[1])

        return await self.database.run(work, write=False)

    async def get_count(self, key: str) -> int | None:
        row = await self._read(key)
        return None if row is None else row[0]

    async def reset(self, key: str) -> None:
        await self.delete(key)

    async def delete(self, key: str) -> bool:
        table = self.table
        row_key = self._key(key)

        async def work(session: AsyncSession) -> bool:
            live = await session.execute(
                delete(table).where(table.c.key == row_key, self._live(now_ms()))
            )
            await session.execute(delete(table).where(table.c.key == row_key))
            return int(live.rowcount) > 0  # type: ignore[attr-defined]

        return await self.database.run(work)

    async def ping(self) -> bool:
        """Return whether the database responds; a failure returns ``False``."""

        async def work(session: AsyncSession) -> bool:
            await session.execute(text("SELECT 1"))
            return True

        try:
            return await self.database.run(work, write=False)
        except Exception:  # any failure means not alive; run() already logged it
            return False

    async def get_ttl(self, key: str) -> int:
        row = await self._read(key)
        if row is None or row[1] is None:
            return 0
        # Rounded up, so a lock with a fraction of a second left still reads as held.
        return max(0, math.ceil((row[1] - now_ms()) / 1000))
