"""Choosing and building the session and CSRF stores of a ``SessionTransport``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crudauth.core import AuthRuntime
from crudauth.storage import get_session_storage
from crudauth.storage.base import AbstractSessionStorage
from crudauth.storage.constants import (
    BACKEND_CUSTOM,
    BACKEND_DATABASE,
    BACKEND_MEMORY,
    BACKEND_REDIS,
)
from crudauth.transports.session.constants import SESSION_STORAGE_PREFIX

__all__ = ["SessionStores", "build_session_stores", "validate_store_options"]

_BACKEND_NAMES = (BACKEND_MEMORY, BACKEND_REDIS, BACKEND_DATABASE)


@dataclass
class SessionStores:
    """The stores a transport uses, the backend name it reports and a client it owns.

    Attributes:
        sessions: The session store.
        csrf: The CSRF token store, or ``None`` while CSRF is off.
        backend: ``"memory"``, ``"redis"``, ``"database"`` or ``"custom"``.
        owned_client: A Redis client built for the transport, which it must close.
    """

    sessions: AbstractSessionStorage[Any]
    csrf: AbstractSessionStorage[Any] | None
    backend: str
    owned_client: Any = None


def validate_store_options(
    *,
    backend: str | None,
    redis_url: str | None,
    redis_client: Any,
    storage: Any,
    csrf_storage: Any,
    csrf: bool,
    storage_prefix: str,
) -> str | None:
    """Check the store arguments of ``SessionTransport`` for conflicts.

    Args:
        backend: The requested backend name, in any case.
        redis_url: The transport's Redis URL.
        redis_client: The transport's Redis client.
        storage: A custom session store.
        csrf_storage: A custom CSRF token store.
        csrf: Whether CSRF tokens are on.
        storage_prefix: The session key prefix.

    Returns:
        The backend name in lower case, or ``None`` when none was requested.

    Raises:
        ValueError: The backend name is unknown, both ``redis_url`` and
            ``redis_client`` are given, or a Redis option is combined with
            ``backend="memory"`` or ``"database"``. Also raised when
            ``csrf_storage`` comes without ``storage``, when ``storage`` comes with a
            backend option or a changed ``storage_prefix``, and when ``storage``
            comes without ``csrf_storage`` while CSRF is on.
    """
    name = backend.lower() if backend else None
    if name is not None and name not in _BACKEND_NAMES:
        raise ValueError(
            f"Unknown session backend {backend!r}: use 'memory', 'redis' or 'database'"
        )
    if redis_url is not None and redis_client is not None:
        raise ValueError("Pass redis_url or redis_client to SessionTransport, not both")
    if name in (BACKEND_MEMORY, BACKEND_DATABASE) and (redis_url or redis_client is not None):
        raise ValueError(f"backend={name!r} cannot be combined with redis_url or redis_client")
    if csrf_storage is not None and storage is None:
        raise ValueError("csrf_storage needs storage: pass both stores or neither")
    if storage is not None:
        if name is not None or redis_url is not None or redis_client is not None:
            raise ValueError("storage replaces backend, redis_url and redis_client: pass only one")
        if storage_prefix != SESSION_STORAGE_PREFIX:
            raise ValueError(
                "storage_prefix has no effect with storage: set the prefix on the store"
            )
        if csrf and csrf_storage is None:
            raise ValueError("storage with csrf=True needs csrf_storage (or pass csrf=False)")
    return name


def build_session_stores(
    runtime: AuthRuntime,
    *,
    backend: str | None,
    redis_url: str | None,
    redis_client: Any,
    storage: Any,
    csrf_storage: Any,
    csrf: bool,
    storage_prefix: str,
    csrf_storage_prefix: str,
    ttl_seconds: int,
) -> SessionStores:
    """Build the session and CSRF stores, taking the first source that applies.

    1. A given ``storage``, reported as ``"custom"``.
    2. The transport's own Redis client, or one built from its ``redis_url``.
    3. The app-wide Redis client, unless ``backend`` is ``"memory"`` or ``"database"``.
    4. For ``backend="redis"`` with no client anywhere, one for the default URL.
    5. The app's database store, which ``backend="database"`` requires.
    6. Memory.

    Args:
        runtime: The facade's shared state, for the app-wide Redis client and
            database store.
        backend: The checked backend name from ``validate_store_options``.
        redis_url: The transport's Redis URL.
        redis_client: The transport's Redis client.
        storage: A custom session store.
        csrf_storage: A custom CSRF token store.
        csrf: Whether to build a CSRF token store.
        storage_prefix: Key prefix of the sessions.
        csrf_storage_prefix: Key prefix of the CSRF tokens.
        ttl_seconds: Default expiry of a stored record, in seconds.

    Returns:
        The stores, the backend name and any Redis client built here.

    Raises:
        ValueError: ``backend="database"`` without ``CRUDAuth(database_store=...)``.
    """
    if storage is not None:
        return SessionStores(storage, csrf_storage if csrf else None, BACKEND_CUSTOM)

    owned_client: Any = None
    client = redis_client
    if client is None and redis_url is not None:
        client = owned_client = _redis_client(redis_url)
    if client is None and backend not in (BACKEND_MEMORY, BACKEND_DATABASE):
        client = runtime.redis_client
    if client is None and backend == BACKEND_REDIS:
        client = owned_client = _redis_client(None)

    if client is not None:
        name = BACKEND_REDIS
    elif backend == BACKEND_DATABASE or (backend is None and runtime.database_store is not None):
        if runtime.database_store is None:
            raise ValueError(
                "SessionTransport(backend='database') needs CRUDAuth(database_store=...)"
            )
        name = BACKEND_DATABASE
    else:
        name = BACKEND_MEMORY

    def build(prefix: str) -> AbstractSessionStorage[Any]:
        return get_session_storage(
            name,
            prefix=prefix,
            expiration=ttl_seconds,
            client=client,
            database=runtime.database_store,
        )

    return SessionStores(
        sessions=build(storage_prefix),
        csrf=build(csrf_storage_prefix) if csrf else None,
        backend=name,
        owned_client=owned_client,
    )


def _redis_client(url: str | None) -> Any:
    from crudauth.storage.backends.redis import redis_client_from_url

    return redis_client_from_url(url)
