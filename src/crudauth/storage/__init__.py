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
    """Build a session store from a backend name.

    The name is compared case-insensitively. ``"memory"`` builds a
    ``MemorySessionStorage``, ``"redis"`` a ``RedisSessionStorage`` and ``"database"``
    a ``DatabaseSessionStorage`` over the tables of ``database``.

    Args:
        backend: ``"memory"``, ``"redis"`` or ``"database"``. ``None`` or an empty
            string means ``"memory"``.
        prefix: Text put before every id to form the storage key.
        expiration: Default TTL of a value in seconds.
        redis_url: URL of the Redis server when ``client`` is not given. The store
            then owns the client it builds and closes it in ``close``. ``None`` uses
            ``redis://localhost:6379/0``.
        client: A Redis client the caller owns and closes. It takes precedence over
            ``redis_url``.
        database: The ``DatabaseStore`` whose store table stores the values. It is
            required for ``"database"``.
        **kwargs: Passed to ``RedisSessionStorage``, which ignores them. The other
            backends do not receive them.

    Returns:
        The new store.

    Raises:
        ValueError: ``backend`` is not one of the three names, or it is
            ``"database"`` and ``database`` is ``None``.
        ImportError: ``backend`` is ``"redis"``, no ``client`` is given and the
            ``redis`` package is not installed.

    Example:
        ```python
        from crudauth.storage import get_session_storage

        store = get_session_storage(
            "redis", prefix="myapp:session:", redis_url="redis://localhost:6379/1"
        )
        ```
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
