"""Lookups across many keys of the store table: by owner and by glob pattern.

A take of an owner's values or summaries, which selects and deletes the rows in one
transaction, is one of them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from crudauth.storage._values import validate_json_values
from crudauth.storage.backends._sql import glob_prefix, now_ms, stored_key
from crudauth.storage.summaries import summarize_json_values

if TYPE_CHECKING:
    from crudauth.storage.backends.database import DatabaseStore

__all__ = ["DatabaseKeyQueries"]

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


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

        A value that does not validate rolls the transaction back, so nothing is
        removed. See ``_take_rows`` for how concurrent takes share the rows.
        """
        return await self._take_rows(
            user_id, keep, lambda raws: validate_json_values(model_class, raws)
        )

    async def take_user_summaries(
        self, user_id: Any, model_class: type[M], keep: Sequence[str] = ()
    ) -> list[tuple[str, str]]:
        """Select, summarize and delete the owner's rows in one transaction.

        The ``user_id`` column proves ownership, so each value is parsed once, into
        ``model_class``. A value that does not validate gets ``UNREADABLE_SUMMARY``.
        """
        return await self._take_rows(
            user_id, keep, lambda raws: summarize_json_values(model_class, raws)
        )

    async def _take_rows(
        self, user_id: Any, keep: Sequence[str], convert: Callable[[list[str]], list[R]]
    ) -> list[tuple[str, R]]:
        """Delete the owner's rows but ``keep``, and return the live ones converted.

        ``convert`` runs inside the transaction, so when it raises nothing is removed.
        Only the rows that this call's ``DELETE ... RETURNING`` removed are returned,
        so of two concurrent takes only one returns a given value. A database without
        ``RETURNING`` on ``DELETE`` (MySQL) relies on ``SELECT ... FOR UPDATE``
        instead.

        NOTE: the test suite runs SQLite and PostgreSQL only, not the MySQL path.
        """
        table = self.table
        kept = {stored_key(self.prefix + session_id) for session_id in keep}
        owned = (table.c.user_id == str(user_id)) & table.c.key.startswith(
            self.prefix, autoescape=True
        )
        query = select(table.c.key, table.c.value, table.c.expires_at).where(owned)

        async def work(session: AsyncSession) -> list[tuple[str, R]]:
            now = now_ms()
            selected = await session.execute(query.with_for_update())
            rows = [row for row in selected if row.key not in kept]
            if not rows:
                return []
            live = [row for row in rows if row.expires_at > now]
            converted = convert([row.value for row in live])
            # Expired rows go too, so a take leaves the owner nothing but ``keep``.
            removal = delete(table).where(table.c.key.in_([row.key for row in rows]), owned)
            if session.get_bind().dialect.delete_returning:
                removed = await session.execute(removal.returning(table.c.key))
                # A concurrent take that deleted a row first returns it instead.
                deleted_keys = set(removed.scalars())
            else:
                await session.execute(removal)
                deleted_keys = {row.key for row in rows}
            return [
                (row.key[len(self.prefix) :], item)
                for row, item in zip(live, converted, strict=True)
                if row.key in deleted_keys
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
