"""SQL storage for deployments with several workers and no Redis.

``DatabaseStore`` owns two tables (values and counters) and runs each operation in its
own short transaction. Expiry times are epoch milliseconds from the application clock,
never the database clock, so every worker agrees with the memory and Redis backends.

``DatabaseSessionStorage``, the storage port over the store table, is defined in
``database_storage`` and re-exported here. ``crudauth.ratelimit.backends.database``
reads and writes the counter table.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import QueuePool

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
    is_retryable,
    key_type,
    now_ms,
    stored_key,
)
from crudauth.storage.backends._sql import (
    upserts_returning as upserts_returning,
)
from crudauth.storage.backends.database_storage import DatabaseSessionStorage
from crudauth.storage.constants import (
    DATABASE_PURGE_BATCH_SIZE,
    DATABASE_PURGE_EVERY_WRITES,
    DATABASE_TRANSACTION_ATTEMPTS,
    DEFAULT_COUNTER_TABLE,
    DEFAULT_STORAGE_PREFIX,
    DEFAULT_STORE_TABLE,
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
            database than the application's. A pooled engine is copied with a pool
            of its own and the same settings, so the store does not wait for the
            connections that requests hold. A sessionmaker is used as it is: bind it
            to an engine whose pool requests do not use.
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

        # The engine of the store's own pool, disposed by dispose().
        self._own_engine: AsyncEngine | None = None
        if isinstance(sessions, AsyncEngine):
            engine = _with_own_pool(sessions)
            if engine is not sessions:
                self._own_engine = engine
            sessions = async_sessionmaker(engine, expire_on_commit=False)
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

    async def dispose(self) -> None:
        """Close the idle connections of the store's own pool, if it has one.

        ``CRUDAuth.shutdown`` calls it. A later operation opens new connections.
        """
        if self._own_engine is not None:
            await self._own_engine.dispose()

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


def _with_own_pool(engine: AsyncEngine) -> AsyncEngine:
    """Return an engine on ``engine``'s database with a pool of its own, when it pools.

    A request keeps a connection of the app's pool until it ends, so a store drawing
    from the same pool waits on itself once every connection is taken. The new pool has
    the same settings. A static or per-thread pool may hold the only connection to an
    in-memory database, so such an engine is used as it is.
    """
    pool = engine.sync_engine.pool
    if not isinstance(pool, QueuePool):
        return engine
    # Without its own pool the store would deadlock requests once they hold every
    # connection of the app's pool.
    return create_async_engine(engine.url, pool=pool.recreate())


def _unavailable(exc: BaseException) -> StoreUnavailableError:
    """Log one line naming the store and the error class, and build the 503 error."""
    logger.error("%s failed (%s)", STORE_NAME, type(exc).__name__)
    return StoreUnavailableError(STORE_NAME, exc)
