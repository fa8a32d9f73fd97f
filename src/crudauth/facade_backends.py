"""The facade's state backends: rate limiter, lockout settings, one-time stores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crudauth.ratelimit import LockoutConfig, MemoryRateLimiterBackend, RateLimiterBackend
from crudauth.storage.base import AbstractSessionStorage
from crudauth.transports.session import SessionTransport
from crudauth.wiring import build_auxiliary_storage

if TYPE_CHECKING:
    from crudauth.core import AuthRuntime
    from crudauth.storage import DatabaseStore

__all__ = [
    "MEMORY_MFA_STORE",
    "MEMORY_RATE_LIMITER",
    "MEMORY_SESSIONS",
    "MEMORY_TOKEN_STORES",
    "FacadeBackends",
]

MEMORY_RATE_LIMITER = "rate limiter (lockout/throttle counters)"
MEMORY_SESSIONS = "sessions/CSRF"
MEMORY_TOKEN_STORES = "one-time-token/OAuth-state stores"
MEMORY_MFA_STORE = "MFA store"


class FacadeBackends:
    """Selection of the rate limiter, the lockout settings and the one-time stores.

    ``_memory_parts`` lists the parts that keep their state in process memory.

    A mixin of ``CRUDAuth`` without a constructor: ``CRUDAuth.__init__`` sets every
    field.

    Attributes:
        runtime: The shared state of the transports.
        _redis_client: The app-wide Redis client, or ``None``.
        _database_store: The app-wide database store, or ``None``.
        _session_transport: The first session transport, or ``None``.
        _rate_limiter: The rate limiter backend in use.
        _auxiliary_stores: Each one-time-state store with its backend name and label.
    """

    runtime: AuthRuntime
    _redis_client: Any
    _database_store: DatabaseStore | None
    _session_transport: SessionTransport | None
    _rate_limiter: RateLimiterBackend
    _auxiliary_stores: list[tuple[AbstractSessionStorage[Any], str, str]]

    def _build_rate_limiter(
        self, explicit: RateLimiterBackend | None, prefix: str | None
    ) -> RateLimiterBackend:
        if explicit is not None:
            return explicit
        if self._redis_client is not None:
            from crudauth.ratelimit import redis_rate_limiter

            if prefix is None:
                return redis_rate_limiter(client=self._redis_client)
            return redis_rate_limiter(client=self._redis_client, prefix=prefix)
        if self._database_store is not None:
            return self._database_store.rate_limiter(prefix=prefix or "")
        return MemoryRateLimiterBackend()

    def _lockout_config(self, lockout: LockoutConfig | None) -> LockoutConfig:
        from_transport = getattr(self._session_transport, "lockout", None)
        if lockout is not None and from_transport is not None:
            raise ValueError(
                "Configure the login lockout once: pass CRUDAuth(lockout=...) or the "
                "SessionTransport(login_*=...) arguments, not both"
            )
        return lockout or from_transport or LockoutConfig()

    def _memory_parts(self) -> list[str]:
        parts = []
        if isinstance(self._rate_limiter, MemoryRateLimiterBackend):
            parts.append(MEMORY_RATE_LIMITER)
        session_transport = self._session_transport
        if session_transport is not None and session_transport.backend == "memory":
            parts.append(MEMORY_SESSIONS)
        for _store, backend, label in self._auxiliary_stores:
            if backend == "memory" and label not in parts:
                parts.append(label)
        return parts

    def auxiliary_storage(
        self, prefix: str, expiration: int, *, label: str = MEMORY_TOKEN_STORES
    ) -> AbstractSessionStorage[Any]:
        """Build a store for one-time state (tokens, OAuth state, MFA challenges).

        The store follows the app's Redis client, else its database store, else the
        session transport's backend, else memory; ``initialize()`` and ``shutdown()``
        open and close it. ``label`` names it in the in-memory warning.
        """
        store, backend = build_auxiliary_storage(
            self.runtime, self._session_transport, prefix=prefix, expiration=expiration
        )
        self._auxiliary_stores.append((store, backend, label))
        return store
