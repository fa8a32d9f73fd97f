"""Composition-root helpers: where the auxiliary one-time-state stores live."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crudauth.storage import get_session_storage
from crudauth.storage.base import AbstractSessionStorage
from crudauth.storage.constants import BACKEND_DATABASE, BACKEND_MEMORY, BACKEND_REDIS

if TYPE_CHECKING:
    from crudauth.core import AuthRuntime
    from crudauth.transports.session import SessionTransport

__all__ = ["build_auxiliary_storage"]


def build_auxiliary_storage(
    runtime: AuthRuntime,
    session_transport: SessionTransport | None,
    *,
    prefix: str,
    expiration: int,
) -> tuple[AbstractSessionStorage[Any], str]:
    """Build a store for one-time tokens, OAuth state or MFA challenges.

    The backend is the app-wide Redis client, else the database store, else the session
    transport's Redis client when its backend is Redis, else memory.

    Args:
        runtime: The facade's shared state, for the Redis client and database store.
        session_transport: The app's session transport, or ``None``.
        prefix: Key prefix of the store.
        expiration: Default TTL of a record in seconds.

    Returns:
        ``(store, backend name)``, where the name is ``"redis"``, ``"database"`` or
        ``"memory"``.
    """
    if runtime.redis_client is not None:
        store = get_session_storage(
            BACKEND_REDIS, prefix=prefix, expiration=expiration, client=runtime.redis_client
        )
        return store, BACKEND_REDIS
    if runtime.database_store is not None:
        store = get_session_storage(
            BACKEND_DATABASE,
            prefix=prefix,
            expiration=expiration,
            database=runtime.database_store,
        )
        return store, BACKEND_DATABASE
    if session_transport is not None and session_transport.backend == BACKEND_REDIS:
        client = session_transport.redis_client or session_transport.owned_redis_client
        if client is not None:
            store = get_session_storage(
                BACKEND_REDIS, prefix=prefix, expiration=expiration, client=client
            )
            return store, BACKEND_REDIS
    return get_session_storage(BACKEND_MEMORY, prefix=prefix, expiration=expiration), BACKEND_MEMORY
