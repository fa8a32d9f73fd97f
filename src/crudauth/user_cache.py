"""Keep recently loaded user rows in process memory for a few seconds.

Every authenticated request loads its user row. With SQLite through ``aiosqlite`` that
load costs far more than the rest of the authentication, so an app that can accept
a short delay before changes made outside crudauth apply may keep rows here.

The cache stores column values, never live ORM objects. A hit builds a detached
instance from them and adds it to the request's database session without a query, so
the route gets an ordinary persistent row that it may change and commit.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, make_transient_to_detached

__all__ = ["CACHED_ROW_MARK", "UserCacheConfig", "UserRowCache", "came_from_cache"]

# Set on the instance state of a row restored from the cache. Code that needs the
# database's current values reloads such a row first.
CACHED_ROW_MARK = "crudauth_cached_row"

_EAGER_LOADING = frozenset({"joined", "selectin", "subquery", "immediate"})

# Values of these types are immutable, so a cached value can be shared by instances.
_IMMUTABLE = (
    str,
    bytes,
    int,
    float,
    bool,
    type(None),
    Decimal,
    UUID,
    datetime,
    date,
    time_of_day,
    timedelta,
)


@dataclass(frozen=True)
class UserCacheConfig:
    """Serve user rows from process memory for up to ``ttl`` seconds.

    Off by default. Turn it on when loading the user row dominates the cost of an
    authenticated request (SQLite through ``aiosqlite`` is the usual case).

    What stays exact: every write crudauth makes to a user row drops that row from
    this process's cache. Sessions and token families are checked in their stores on
    every request. A request that the cached row would reject (an inactive account,
    an older ``token_version``, a missing superuser or verified flag) is decided again
    on a freshly loaded row. The password, sudo, MFA and email-change routes reload
    the row before they use it.

    What may lag by up to ``ttl`` seconds: changes made outside crudauth (your own
    ``UPDATE`` of ``is_active`` or a profile field) and changes made by another worker
    process, as seen by this one. Only column attributes are restored; relationships
    of a cached row load lazily, as after ``expire``. Routes built on
    ``auth.reading_user()`` (``/me`` and the device list among them) get a cached row
    detached from any database session, for reading only.

    Attributes:
        ttl: Seconds a loaded row may be served from memory; must be positive.
        max_entries: Rows kept per process; the least recently stored go first.

    Raises:
        ValueError: ``ttl`` is not positive or ``max_entries`` is below one.

    Example:
        ```python
        auth = CRUDAuth(
            session=get_db,
            user_model=User,
            SECRET_KEY=settings.secret_key,
            user_cache=UserCacheConfig(ttl=5),
        )
        ```
    """

    ttl: float = 5.0
    max_entries: int = 10_000

    def __post_init__(self) -> None:
        if not self.ttl > 0:
            raise ValueError(f"UserCacheConfig.ttl must be positive, not {self.ttl!r}")
        if self.max_entries < 1:
            raise ValueError(
                f"UserCacheConfig.max_entries must be at least 1, not {self.max_entries!r}"
            )


@dataclass
class _Entry:
    values: dict[str, Any]
    expires_at: float


class UserRowCache:
    """The process-local store behind ``UserCacheConfig``.

    A load that overlaps any write through ``forget`` is not kept, so a row read just
    before a commit cannot outlive that commit.

    Args:
        model: The mapped user class.
        config: Lifetime and size of the cache.

    Raises:
        ValueError: ``model`` loads a relationship eagerly (``joined``,
            ``selectin``, ``subquery`` or ``immediate``), which a restored row could
            not load inside an async session.
    """

    def __init__(self, model: type[Any], config: UserCacheConfig) -> None:
        mapper = sa.inspect(model)
        assert isinstance(mapper, Mapper)
        eager = sorted(
            relationship.key
            for relationship in mapper.relationships
            if relationship.lazy in _EAGER_LOADING
        )
        if eager:
            # A cached row restores columns only; an eagerly loaded relationship would
            # then load lazily, which fails inside an async session.
            raise ValueError(
                f"user_cache restores column attributes only, but {model.__name__} loads "
                f"{', '.join(eager)} eagerly; leave user_cache off for this model"
            )
        self.config = config
        self._mapper: Mapper[Any] = mapper
        self._keys = tuple(attribute.key for attribute in mapper.column_attrs)
        self._pk = mapper.get_property_by_column(mapper.primary_key[0]).key
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._writes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def begin_load(self) -> int:
        """Return the write counter to hand back to ``store`` after a database load.

        Call it before the load starts, so a ``forget`` or ``clear`` that runs during
        the load keeps the loaded row out of the cache.
        """
        return self._writes

    def store(self, user: Any, user_id: Any, started: int) -> None:
        """Keep the column values of ``user`` unless a write came after ``started``.

        A row whose primary key is not loaded is not kept. When the cache is full,
        the least recently stored rows are dropped.

        Args:
            user: The row just loaded from the database.
            user_id: The user's primary key, compared as a string.
            started: What ``begin_load`` returned before the load.
        """
        if started != self._writes:
            return
        loaded = sa.inspect(user).dict
        values = {key: loaded[key] for key in self._keys if key in loaded}
        if self._pk not in values:
            return
        key = str(user_id)
        self._entries[key] = _Entry(values, time.monotonic() + self.config.ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self.config.max_entries:
            self._entries.popitem(last=False)

    async def load(self, db: AsyncSession | None, user_id: Any) -> Any:
        """Return the cached row attached to ``db``, or ``None`` on a miss.

        With ``db=None`` the row is returned detached, for a caller that only reads it.
        A row built from the cache carries ``CACHED_ROW_MARK``. When ``db`` already
        contains the row, that instance is returned instead, without the mark.

        Args:
            db: The request's database session, or ``None``.
            user_id: The user's primary key, compared as a string.

        Returns:
            The row, or ``None`` when it is not cached or its entry has expired.
        """
        key = str(user_id)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= time.monotonic():
            del self._entries[key]
            return None
        session = db.sync_session if db is not None else None
        if session is not None:
            identity = self._mapper.identity_key_from_primary_key((entry.values[self._pk],))
            present = session.identity_map.get(identity)
            if present is not None:
                # This request loaded the row already; that copy is at least as fresh.
                return present

        instance = self._mapper.class_manager.new_instance()
        state = sa.inspect(instance)
        state.dict.update(
            (name, value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value))
            for name, value in entry.values.items()
        )
        make_transient_to_detached(instance)
        state.info[CACHED_ROW_MARK] = True
        if session is not None:
            # A detached row is attached as persistent without a query: no SQL runs,
            # so the synchronous session does it without AsyncSession's greenlet switch.
            session.add(instance)
        return instance

    def forget(self, user_id: Any) -> None:
        """Drop the row of ``user_id`` and void every load still in flight."""
        self._writes += 1
        self._entries.pop(str(user_id), None)

    def clear(self) -> None:
        """Drop every row."""
        self._writes += 1
        self._entries.clear()


def came_from_cache(user: Any) -> bool:
    """Return whether ``user`` was restored from a ``UserRowCache``.

    Args:
        user: A user row, or ``None``.

    Returns:
        ``True`` when the row carries ``CACHED_ROW_MARK``. ``False`` for ``None``.
    """
    if user is None:
        return False
    return bool(sa.inspect(user).info.get(CACHED_ROW_MARK, False))
