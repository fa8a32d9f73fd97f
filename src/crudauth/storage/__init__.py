"""Server-side key/value storage: the port, its backends and a builder by name."""

from __future__ import annotations

from typing import Any

from crudauth.constants import DEFAULT_SESSION_TTL_SECONDS
from crudauth.storage.backends.database import (
    DatabaseSessionStorage as DatabaseSessionStorage,
)
from crudauth.storage.backends.database import DatabaseStore as DatabaseStore
from crudauth.storage.backends.memory import MemorySessionStorage as MemorySessionStorage
from crudauth.storage.backends.redis import RedisSessionStorage as RedisSessionStorage
from crudauth.storage.base import AbstractSessionStorage as AbstractSessionStorage
from crudauth.storage.constants import (
    BACKEND_DATABASE,
    BACKEND_MEMORY,
    BACKEND_REDIS,
    DEFAULT_STORAGE_PREFIX,
)

__all__ = [
    "AbstractSessionStorage",
    "DatabaseSessionStorage",
    "DatabaseStore",
    "MemorySessionStorage",
    "RedisSessionStorage",
    "get_session_storage",
]


def get_session_storage(
    backend: str | None = BACKEND_MEMORY,
    *,
    prefix: str = DEFAULT_STORAGE_PREFIX,
    expiration: int = DEFAULT_SESSION_TTL_SECONDS,
    redis_url: str | None = None,
    client: Any = None,
    database: DatabaseStore | None = None,
    **kwargs: Any,
) -> AbstractSessionStorage[Any]:
    """Build a store by name: ``"memory"`` (also empty), ``"redis"`` or ``"database"``.

    ``redis`` uses ``client`` when given (borrowed) or a client built from ``redis_url``
    (owned); extra keyword arguments go to ``RedisSessionStorage``. ``database`` needs a
    ``DatabaseStore`` in ``database``.
    """
    name = (backend or BACKEND_MEMORY).lower()
    if name == BACKEND_MEMORY:
        return MemorySessionStorage(prefix=prefix, expiration=expiration)

    if name == BACKEND_REDIS:
        return RedisSessionStorage(
            prefix=prefix, expiration=expiration, redis_url=redis_url, client=client, **kwargs
        )

    if name == BACKEND_DATABASE:
        if database is None:
            raise ValueError(
                "get_session_storage(backend='database') needs database=DatabaseStore(...)"
            )
        return database.storage(prefix=prefix, expiration=expiration)

    raise ValueError(f"Unknown storage backend {backend!r}: use 'memory', 'redis' or 'database'")
