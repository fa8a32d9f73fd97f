"""SQL storage for deployments with several workers and no Redis.

``DatabaseStore`` owns two tables (values and counters) and runs each operation in its
own short transaction. Expiry times are epoch milliseconds from the application clock,
never the database clock, so every worker agrees with the memory and Redis backends.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crudauth.constants import DEFAULT_SESSION_TTL_SECONDS
from crudauth.exceptions import StoreUnavailableError
from crudauth.storage.backends._sql import (
    GLOB_CHARACTERS as GLOB_CHARACTERS,
)
from crudauth.storage.backends._sql import (
    MYSQL_RETRYABLE_CODES as MYSQL_RETRYABLE_CODES,
)
from crudauth.storage.backends._sql import (
    POSTGRESQL_RETRYABLE_STATES as POSTGRESQL_RETRYABLE_STATES,
)
from crudauth.storage.backends._sql import (
    deletes_returning as deletes_returning,
)
from crudauth.storage.backends._sql import (
    dialect_of,
    glob_prefix,
    is_retryable,
    key_type,
    now_ms,
    on_conflict_update,
    stored_key,
    upsert_statement,
)
from crudauth.storage.backends._sql import (
    upserts_returning as upserts_returning,
)
from crudauth.storage.base import AbstractSessionStorage, M, T
from crudauth.storage.constants import (
    DATABASE_MODIFY_MAX_ATTEMPTS,
    DATABASE_PURGE_BATCH_SIZE,
    DATABASE_PURGE_EVERY_WRITES,
    DATABASE_TRANSACTION_ATTEMPTS,
    DEFAULT_COUNTER_TABLE,
    DEFAULT_STORAGE_PREFIX,
    DEFAULT_STORE_TABLE,
    MYSQL_DIALECTS,
)

if TYPE_CHECKING:
    from crudauth.ratelimit.backends.database import DatabaseRateLimiterBackend

__all__ = [
    "DatabaseSessionStorage",
    "DatabaseStore",
    "dialect_of",
    "key_type",
    "now_ms",
    "stored_key",
]

logger = logging.getLogger("crudauth.storage")

R = TypeVar("R")

STORE_NAME = "database store"


class DatabaseStore:
    """The tables and connection holding crudauth's server-side state in SQL.

    Pass one to ``CRUDAuth(database_store=...)`` to keep sessions, CSRF tokens and the
    rate-limit counters in SQL. The store table holds values (``storage()``) and the
    counter table holds counters (``rate_limiter()``). Both are declared on
    ``metadata`` so Alembic can generate them, and ``create_tables()`` creates them
    directly. Each operation runs in its own short transaction, separate from the
    application's request session.

    Args:
        sessions: An ``async_sessionmaker`` or an ``AsyncEngine`` (wrapped in a
            sessionmaker with ``expire_on_commit=False``). It may point at another
            database than the application's.
        metadata: The ``MetaData`` to declare the tables on. ``None`` uses a new one.
        store_table: Name of the table of stored values.
        counter_table: Name of the table of counters.
        purge_every: Counted writes between two purges of expired rows. ``0`` turns
            the automatic purge off and leaves it to ``purge_expired()``.
        purge_batch_size: Rows deleted per purge transaction.

    Raises:
        ValueError: The two table names are equal, ``purge_every`` is negative or
            ``purge_batch_size`` is below 1.

    Example:
        ```python
        from crudauth import CRUDAuth, DatabaseStore

        store = DatabaseStore(engine)
        auth = CRUDAuth(..., database_store=store)
        ```
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | AsyncEngine,
        *,
        metadata: MetaData | None = None,
        store_table: str = DEFAULT_STORE_TABLE,
        counter_table: str = DEFAULT_COUNTER_TABLE,
        purge_every: int = DATABASE_PURGE_EVERY_WRITES,
        purge_batch_size: int = DATABASE_PURGE_BATCH_SIZE,
    ) -> None:
        if store_table == counter_table:
            raise ValueError(
                f"DatabaseStore store_table and counter_table must differ, both are {store_table!r}"
            )
        if purge_every < 0:
            raise ValueError(f"DatabaseStore purge_every must be >= 0, got {purge_every}")
        if purge_batch_size < 1:
            raise ValueError(f"DatabaseStore purge_batch_size must be >= 1, got {purge_batch_size}")

        if isinstance(sessions, AsyncEngine):
            sessions = async_sessionmaker(sessions, expire_on_commit=False)
        self.sessions = sessions
        self.metadata = metadata if metadata is not None else MetaData()
        self.purge_every = purge_every
        self.purge_batch_size = purge_batch_size
        self._writes = 0
        self.store = Table(
            store_table,
            self.metadata,
            Column("key", key_type(), primary_key=True),
            Column("value", Text, nullable=False),
            Column("user_id", String(255), nullable=True),
            Column("version", Integer, nullable=False, default=1, server_default="1"),
            Column("expires_at", BigInteger, nullable=False),
            Index(f"ix_{store_table}_user_id", "user_id"),
            Index(f"ix_{store_table}_expires_at", "expires_at"),
        )
        self.counters = Table(
            counter_table,
            self.metadata,
            Column("key", key_type(), primary_key=True),
            Column("count", BigInteger, nullable=False),
            Column("expires_at", BigInteger, nullable=True),
            Index(f"ix_{counter_table}_expires_at", "expires_at"),
        )

    def storage(
        self, prefix: str = DEFAULT_STORAGE_PREFIX, expiration: int = DEFAULT_SESSION_TTL_SECONDS
    ) -> DatabaseSessionStorage[Any]:
        """Build a session store over the store table.

        Stores built with different prefixes share the table without sharing keys.

        Args:
            prefix: Text put before every id to form the storage key.
            expiration: Default TTL of a value in seconds.

        Returns:
            The new ``DatabaseSessionStorage``.
        """
        return DatabaseSessionStorage(self, prefix=prefix, expiration=expiration)

    def rate_limiter(self, prefix: str = "") -> DatabaseRateLimiterBackend:
        """Build a rate-limiter backend over the counter table.

        Args:
            prefix: Text put before every counter key.

        Returns:
            The new ``DatabaseRateLimiterBackend``.
        """
        from crudauth.ratelimit.backends.database import DatabaseRateLimiterBackend

        return DatabaseRateLimiterBackend(self, prefix=prefix)

    async def create_tables(self) -> None:
        """Create both tables when they are missing, leaving existing tables unaltered.

        Meant for development and tests. Production deployments generate the tables
        with migrations from ``metadata``.

        Raises:
            ValueError: The sessionmaker is not bound to an ``AsyncEngine``.
            StoreUnavailableError: The database failed.
        """
        engine = self.sessions.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise ValueError("DatabaseStore.create_tables needs a sessionmaker bound to an engine")
        try:
            async with engine.begin() as connection:
                await connection.run_sync(
                    self.metadata.create_all, tables=[self.store, self.counters]
                )
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            raise _unavailable(exc) from exc

    async def run(self, work: Callable[[AsyncSession], Awaitable[R]], *, write: bool = True) -> R:
        """Run ``work`` in its own session, committing when ``write`` is true.

        Deadlocks, lock timeouts, serialization failures and SQLite's "database is
        locked" are retried, five attempts in all, with jittered sleeps of 5 to 20 ms
        times the attempt number. ``work`` may therefore run more than once.

        Args:
            work: Receives the session and returns the result.
            write: Commit after ``work``. ``False`` closes the session without a
                commit, for reads.

        Returns:
            What ``work`` returned.

        Raises:
            sqlalchemy.exc.IntegrityError: A constraint failed. It is never retried.
            StoreUnavailableError: Any other database failure, or a retryable one on
                the last attempt.
        """
        attempt = 1
        while True:
            try:
                async with self.sessions() as session:
                    result = await work(session)
                    if write:
                        await session.commit()
                    return result
            except IntegrityError:
                raise
            except DBAPIError as exc:
                if attempt < DATABASE_TRANSACTION_ATTEMPTS and is_retryable(exc):
                    await asyncio.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311
                    attempt += 1
                    continue
                raise _unavailable(exc) from exc
            except (SQLAlchemyError, OSError, TimeoutError) as exc:
                raise _unavailable(exc) from exc

    async def note_write(self) -> None:
        """Count one write and purge expired rows every ``purge_every`` writes.

        A purge deletes at most ``purge_every`` expired rows per table. Its failure is
        logged and never raised, so the write that triggered it still succeeds.
        """
        if self.purge_every == 0:
            return
        self._writes += 1
        if self._writes < self.purge_every:
            return
        self._writes = 0
        try:
            await self._purge(limit=self.purge_every, batch_size=self.purge_batch_size)
        except Exception as exc:  # purging is housekeeping and must never fail a write
            logger.error("%s purge of expired rows failed (%s)", STORE_NAME, type(exc).__name__)

    async def purge_expired(self, batch_size: int | None = None) -> int:
        """Delete every expired row of both tables, one transaction per batch.

        Args:
            batch_size: Rows deleted per transaction. ``None`` uses
                ``purge_batch_size``.

        Returns:
            How many rows were deleted.

        Raises:
            StoreUnavailableError: The database failed.
        """
        return await self._purge(limit=None, batch_size=batch_size or self.purge_batch_size)

    async def _purge(self, *, limit: int | None, batch_size: int) -> int:
        removed = 0
        for table in (self.store, self.counters):
            removed_here = 0
            while limit is None or removed_here < limit:
                size = batch_size if limit is None else min(batch_size, limit - removed_here)

                async def work(
                    session: AsyncSession, table: Table = table, size: int = size
                ) -> int:
                    return await self._purge_batch(session, table, size)

                count = await self.run(work)
                removed_here += count
                if count < size:
                    break
            removed += removed_here
        return removed

    async def _purge_batch(self, session: AsyncSession, table: Table, size: int) -> int:
        expired = and_(table.c.expires_at.is_not(None), table.c.expires_at <= now_ms())
        keys = (await session.execute(select(table.c.key).where(expired).limit(size))).scalars()
        batch = list(keys)
        if not batch:
            return 0
        await session.execute(delete(table).where(table.c.key.in_(batch), expired))
        return len(batch)


def _unavailable(exc: BaseException) -> StoreUnavailableError:
    """Log one line naming the store and the error class, and build the 503 error."""
    logger.error("%s failed (%s)", STORE_NAME, type(exc).__name__)
    return StoreUnavailableError(STORE_NAME, exc)


def _live(table: Table, now: int) -> ColumnElement[bool]:
    return table.c.expires_at > now


class DatabaseSessionStorage(AbstractSessionStorage[T]):
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
