"""The storage port over the store table of a ``DatabaseStore``.

``DatabaseSessionStorage`` defines the operations on one key or a list of keys. The
per-user index and the glob key scans come from ``DatabaseKeyQueries``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crudauth.constants import DEFAULT_SESSION_TTL_SECONDS
from crudauth.storage.backends._sql import (
    deletes_returning,
    dialect_of,
    now_ms,
    on_conflict_update,
    stored_key,
    upsert_statement,
)
from crudauth.storage.backends.database_key_queries import DatabaseKeyQueries, _live
from crudauth.storage.base import AbstractSessionStorage, M, T
from crudauth.storage.constants import (
    DATABASE_MODIFY_MAX_ATTEMPTS,
    DEFAULT_STORAGE_PREFIX,
    MYSQL_DIALECTS,
)

if TYPE_CHECKING:
    from crudauth.storage.backends.database import DatabaseStore

__all__ = ["DatabaseSessionStorage"]


class DatabaseSessionStorage(DatabaseKeyQueries, AbstractSessionStorage[T]):
    """Values in the store table; the per-user index is the ``user_id`` column.

    Expired rows read as absent everywhere. ``modify`` is compare-and-set on the
    ``version`` column, and ``set_if_absent`` and ``get_and_delete`` rely on the
    primary key and on ``DELETE ... RETURNING``, so concurrent callers across workers
    keep the contracts of the port. Each call runs in its own transaction through
    ``DatabaseStore.run``, so database failures raise ``StoreUnavailableError``.
    Build one with ``DatabaseStore.storage()``.

    Args:
        database: The ``DatabaseStore`` whose store table stores the values.
        prefix: Text put before every id to form the storage key.
        expiration: Default TTL of a value in seconds.

    Example:
        ```python
        store = DatabaseStore(engine)
        tokens = store.storage(prefix="myapp:token:", expiration=3600)
        ```
    """

    def __init__(
        self,
        database: DatabaseStore,
        prefix: str = DEFAULT_STORAGE_PREFIX,
        expiration: int = DEFAULT_SESSION_TTL_SECONDS,
    ) -> None:
        super().__init__(prefix=prefix, expiration=expiration)
        self.database = database
        self.table = database.store

    def _row_key(self, session_id: str) -> str:
        return stored_key(self.get_key(session_id))

    def _expiry(self, expiration: int | None) -> int:
        ttl = self.expiration if expiration is None else expiration
        return now_ms() + ttl * 1000

    @staticmethod
    def _owner(data: Any) -> str | None:
        user_id = getattr(data, "user_id", None)
        return None if user_id is None else str(user_id)

    async def create(
        self, data: T, session_id: str | None = None, expiration: int | None = None
    ) -> str:
        """Upsert the row in one transaction, stamping the owner in ``user_id``."""
        session_id = session_id or self.generate_session_id()
        table = self.table
        values = {
            "key": self._row_key(session_id),
            "value": data.model_dump_json(),
            "user_id": self._owner(data),
            "version": 1,
            "expires_at": self._expiry(expiration),
        }

        async def work(session: AsyncSession) -> None:
            insert = upsert_statement(session, table, values)
            changes = {
                "value": values["value"],
                "user_id": values["user_id"],
                "expires_at": values["expires_at"],
                "version": table.c.version + 1,
            }
            await session.execute(on_conflict_update(session, insert, table.c.key, changes))

        await self.database.run(work)
        await self.database.note_write()
        return session_id

    async def get(self, session_id: str, model_class: type[M]) -> M | None:
        """Read the live row with one SELECT."""
        table = self.table
        query = select(table.c.value).where(
            table.c.key == self._row_key(session_id), _live(table, now_ms())
        )

        async def work(session: AsyncSession) -> str | None:
            return (await session.execute(query)).scalar_one_or_none()

        raw = await self.database.run(work, write=False)
        return None if raw is None else model_class.model_validate_json(raw)

    async def get_many(self, session_ids: Sequence[str], model_class: type[M]) -> list[M | None]:
        """Read every live row with one SELECT ... IN, and none for an empty list."""
        if not session_ids:
            return []
        table = self.table
        keys = [self._row_key(session_id) for session_id in session_ids]
        query = select(table.c.key, table.c.value).where(
            table.c.key.in_(keys), _live(table, now_ms())
        )

        async def work(session: AsyncSession) -> dict[str, str]:
            return {row.key: row.value for row in await session.execute(query)}

        found = await self.database.run(work, write=False)
        return [
            None if key not in found else model_class.model_validate_json(found[key])
            for key in keys
        ]

    async def update(
        self,
        session_id: str,
        data: T,
        reset_expiration: bool = True,
        expiration: int | None = None,
    ) -> bool:
        """Overwrite the live row and its owner with one UPDATE."""
        table = self.table
        changes: dict[str, Any] = {
            "value": data.model_dump_json(),
            "user_id": self._owner(data),
            "version": table.c.version + 1,
        }
        if reset_expiration:
            changes["expires_at"] = self._expiry(expiration)
        statement = (
            update(table)
            .where(table.c.key == self._row_key(session_id), _live(table, now_ms()))
            .values(**changes)
        )
        return await self._changed(statement)

    async def _changed(self, statement: Any) -> bool:
        async def work(session: AsyncSession) -> int:
            result = await session.execute(statement)
            return int(result.rowcount)  # type: ignore[attr-defined]

        return await self.database.run(work) > 0

    async def modify(
        self,
        session_id: str,
        model_class: type[M],
        change: Callable[[M], None],
        reset_expiration: bool = True,
        expiration: int | None = None,
    ) -> M | None:
        """Change the value with compare-and-set on the ``version`` column.

        Each attempt reads in one transaction and writes in another, whose UPDATE
        matches only the version it read. A concurrent change makes it miss and the
        change runs again, up to 50 attempts before ``RuntimeError``.
        """
        table = self.table
        key = self._row_key(session_id)
        for _attempt in range(DATABASE_MODIFY_MAX_ATTEMPTS):
            query = select(table.c.value, table.c.version).where(
                table.c.key == key, _live(table, now_ms())
            )

            async def read(session: AsyncSession, query: Any = query) -> Any:
                return (await session.execute(query)).one_or_none()

            row = await self.database.run(read, write=False)
            if row is None:
                return None
            value = model_class.model_validate_json(row.value)
            change(value)
            changes: dict[str, Any] = {
                "value": value.model_dump_json(),
                "user_id": self._owner(value),
                "version": row.version + 1,
            }
            if reset_expiration:
                changes["expires_at"] = self._expiry(expiration)
            # Compare-and-set on version: a concurrent writer's change makes this miss.
            statement = (
                update(table)
                .where(table.c.key == key, table.c.version == row.version, _live(table, now_ms()))
                .values(**changes)
            )
            if await self._changed(statement):
                return value
        raise RuntimeError(
            f"modify gave up after {DATABASE_MODIFY_MAX_ATTEMPTS} concurrent changes to one key"
        )

    async def delete(self, session_id: str, user_id: Any = None) -> bool:
        """Delete the row as ``delete_many`` does, without needing ``user_id``."""
        return await self.delete_many([session_id]) > 0

    async def delete_many(self, session_ids: Sequence[str], user_id: Any = None) -> int:
        """Delete the rows in one transaction, counting only the live ones."""
        if not session_ids:
            return 0
        table = self.table
        keys = [self._row_key(session_id) for session_id in session_ids]

        async def work(session: AsyncSession) -> int:
            now = now_ms()
            live = await session.execute(
                delete(table).where(table.c.key.in_(keys), _live(table, now))
            )
            await session.execute(delete(table).where(table.c.key.in_(keys)))
            return int(live.rowcount)  # type: ignore[attr-defined]

        return await self.database.run(work)

    async def extend(self, session_id: str, expiration: int | None = None) -> bool:
        """Move the expiry of the live row with one UPDATE."""
        table = self.table
        statement = (
            update(table)
            .where(table.c.key == self._row_key(session_id), _live(table, now_ms()))
            .values(expires_at=self._expiry(expiration))
        )
        return await self._changed(statement)

    async def exists(self, session_id: str) -> bool:
        """Look up the live row with one SELECT."""
        table = self.table
        query = select(table.c.key).where(
            table.c.key == self._row_key(session_id), _live(table, now_ms())
        )

        async def work(session: AsyncSession) -> bool:
            return (await session.execute(query)).first() is not None

        return await self.database.run(work, write=False)

    async def set_if_absent(self, session_id: str, data: T, expiration: int | None = None) -> bool:
        """Claim the key through the primary key, in one transaction.

        An expired row is deleted first. The insert then does nothing on a conflict
        (``INSERT IGNORE`` on MySQL and MariaDB), so exactly one concurrent claim
        inserts its row.
        """
        table = self.table
        key = self._row_key(session_id)
        values = {
            "key": key,
            "value": data.model_dump_json(),
            "user_id": self._owner(data),
            "version": 1,
            "expires_at": self._expiry(expiration),
        }

        async def work(session: AsyncSession) -> bool:
            # An expired row must not block the claim; it goes in the same transaction.
            await session.execute(
                delete(table).where(table.c.key == key, table.c.expires_at <= now_ms())
            )
            insert = upsert_statement(session, table, values)
            if dialect_of(session) in MYSQL_DIALECTS:
                statement = insert.prefix_with("IGNORE")
            else:
                statement = insert.on_conflict_do_nothing(index_elements=[table.c.key])
            # The primary key lets exactly one concurrent claim insert its row.
            result = await session.execute(statement)
            return int(result.rowcount) == 1  # type: ignore[attr-defined]

        try:
            claimed = await self.database.run(work)
        except IntegrityError:
            return False
        if claimed:
            await self.database.note_write()
        return claimed

    async def get_and_delete(self, session_id: str, model_class: type[M]) -> M | None:
        """Read and delete in one transaction, so only one caller gets the value.

        Uses ``DELETE ... RETURNING`` where the dialect has it. Elsewhere (MySQL) it
        reads the row, then deletes it only at the version it read.
        """
        table = self.table
        key = self._row_key(session_id)

        async def work(session: AsyncSession) -> str | None:
            now = now_ms()
            if deletes_returning(session):
                # One DELETE ... RETURNING: only the caller whose delete removed the row
                # receives the value, so a one-time token is consumed once.
                statement = (
                    delete(table)
                    .where(table.c.key == key, _live(table, now))
                    .returning(table.c.value)
                )
                return (await session.execute(statement)).scalar_one_or_none()
            row = (
                await session.execute(
                    select(table.c.value, table.c.version).where(
                        table.c.key == key, _live(table, now)
                    )
                )
            ).one_or_none()
            if row is None:
                return None
            removed = await session.execute(
                delete(table).where(table.c.key == key, table.c.version == row.version)
            )
            return str(row.value) if removed.rowcount == 1 else None  # type: ignore[attr-defined]

        raw = await self.database.run(work)
        return None if raw is None else model_class.model_validate_json(raw)
