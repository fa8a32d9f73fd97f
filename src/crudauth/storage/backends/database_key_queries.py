"""Lookups across many keys of the store table: by owner and by glob pattern.

A take of an owner's values, which selects and deletes them in one transaction, is one
of them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from crudauth.storage._values import validate_json_values
from crudauth.storage.backends._sql import glob_prefix, now_ms, stored_key

if TYPE_CHECKING:
    from crudauth.storage.backends.database import DatabaseStore

__all__ = ["DatabaseKeyQueries"]

M = TypeVar("M", bound=BaseModel)


def _live(table: Table, now: int) -> ColumnElement[bool]:
    return table.c.expires_at > now


class DatabaseKeyQueries:
    """Queries of the per-user index and glob key scans for ``DatabaseSessionStorage``.

    A mixin without a constructor, because ``DatabaseSessionStorage.__init__`` sets
    every field.

    Attributes:
        database: The ``DatabaseStore`` whose store table stores the values.
        table: The store table.
        prefix: Text put before every id to form the storage key.
    """

    database: DatabaseStore
    table: Table
    prefix: str

    async def get_user_sessions(self, user_id: Any) -> list[str]:
        """Select the live rows under this prefix whose ``user_id`` column matches."""
        table = self.table
        query = select(table.c.key).where(
            table.c.user_id == str(user_id),
            table.c.key.startswith(self.prefix, autoescape=True),
            _live(table, now_ms()),
        )

        async def work(session: AsyncSession) -> list[str]:
            return list((await session.execute(query)).scalars())

        keys = await self.database.run(work, write=False)
        return [key[len(self.prefix) :] for key in keys]

    async def take_user_values(
        self, user_id: Any, model_class: type[M], keep: Sequence[str] = ()
    ) -> list[tuple[str, M]]:
        """Select, validate and delete the owner's rows in one transaction.

        Only the rows that this call's ``DELETE ... RETURNING`` removed are returned,
        so of two concurrent takes only one returns a given value. A database without
        ``RETURNING`` on ``DELETE`` (MySQL) relies on ``SELECT ... FOR UPDATE``
        instead. A value that does not validate rolls the transaction back, so
        nothing is removed.

        NOTE: the test suite runs SQLite and PostgreSQL only, not the MySQL path.
        """
        table = self.table
        kept = {stored_key(self.prefix + session_id) for session_id in keep}
        owned = (table.c.user_id == str(user_id)) & table.c.key.startswith(
            self.prefix, autoescape=True
        )
        query = select(table.c.key, table.c.value, table.c.expires_at).where(owned)

        async def work(session: AsyncSession) -> list[tuple[str, M]]:
            now = now_ms()
            selected = await session.execute(query.with_for_update())
            rows = [row for row in selected if row.key not in kept]
            if not rows:
                return []
            live = [row for row in rows if row.expires_at > now]
            values = validate_json_values(model_class, [row.value for row in live])
            # Expired rows go too: a take leaves the owner nothing but ``keep``.
            removal = delete(table).where(table.c.key.in_([row.key for row in rows]), owned)
            if session.get_bind().dialect.delete_returning:
                removed = await session.execute(removal.returning(table.c.key))
                # A concurrent take that deleted a row first returns it instead.
                taken = set(removed.scalars())
            else:
                await session.execute(removal)
                taken = {row.key for row in rows}
            return [
                (row.key[len(self.prefix) :], value)
                for row, value in zip(live, values, strict=True)
                if row.key in taken
            ]

        return await self.database.run(work)

    async def remove_from_user_index(self, user_id: Any, session_id: str) -> None:
        """Do nothing: the index is the row itself, so it goes with the row."""

    async def _matching_keys(self, pattern: str) -> list[str]:
        table = self.table
        literal = glob_prefix(pattern)
        query = select(table.c.key).where(
            table.c.key.startswith(literal, autoescape=True), _live(table, now_ms())
        )

        async def work(session: AsyncSession) -> list[str]:
            return list((await session.execute(query)).scalars())

        candidates = await self.database.run(work, write=False)
        return [key for key in candidates if fnmatch.fnmatchcase(key, pattern)]

    async def scan_keys(self, match: str | None = None) -> list[str]:
        """Select live keys by the glob's literal head, then match the whole glob.

        A key longer than 255 characters is returned in its stored, shortened form.
        """
        return await self._matching_keys(f"{self.prefix}*" if match is None else match)

    async def delete_pattern(self, pattern: str) -> int:
        """Delete the matching live keys in transactions of ``purge_batch_size`` keys.

        The keys are selected first, so the whole call is not atomic.
        """
        keys = await self._matching_keys(f"{pattern}*")
        table = self.table
        removed = 0
        batch_size = self.database.purge_batch_size
        for start in range(0, len(keys), batch_size):
            batch = keys[start : start + batch_size]

            async def work(session: AsyncSession, batch: list[str] = batch) -> int:
                result = await session.execute(delete(table).where(table.c.key.in_(batch)))
                return int(result.rowcount)  # type: ignore[attr-defined]

            removed += await self.database.run(work)
        return removed
