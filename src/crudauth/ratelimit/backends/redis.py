"""Rate-limit counters in Redis, shared by every worker."""

from __future__ import annotations

import logging
from typing import Any

from crudauth.ratelimit.base import RateLimiterBackend
from crudauth.ratelimit.constants import REDIS_KEY_PREFIX
from crudauth.storage.backends.redis_client import (
    redis_client_from_url,
    redis_errors,
    translate_redis_errors,
)

__all__ = ["RedisBackend"]

logger = logging.getLogger("crudauth.ratelimit")

STORE_NAME = "redis rate limiter"


class RedisBackend(RateLimiterBackend):
    """Counters stored as ``prefix + key`` with Redis TTLs.

    Every increment and its TTL change run in one MULTI, so a crash between them cannot
    leave a counter that never expires. Needs Redis 7.0+ for ``EXPIRE ... NX``. A Redis
    failure in a counter operation or in ``initialize`` raises
    ``StoreUnavailableError``, while ``ping`` returns ``False``.

    Args:
        redis_url: URL of the Redis server; used when ``client`` is ``None`` (the
            default URL is a local Redis, database 0).
        client: An open ``redis.asyncio`` client to share; ``close`` leaves it open.
        prefix: Prefix of every counter key.

    Raises:
        ImportError: ``redis`` is not installed and no ``client`` is given.
    """

    def __init__(
        self,
        redis_url: str | None = None,
        client: Any = None,
        prefix: str = REDIS_KEY_PREFIX,
    ) -> None:
        # A borrowed client belongs to the caller, who closes it.
        self._owns_client = client is None
        self.client: Any = client if client is not None else redis_client_from_url(redis_url)
        self.prefix = prefix

    def _guard(self) -> Any:
        return translate_redis_errors(STORE_NAME, logger, self.prefix)

    async def _add(self, key: str, amount: int, expiry: int | None, *, refresh: bool) -> int:
        full_key = self.prefix + key
        with self._guard():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incrby(full_key, amount)
                if expiry is not None:
                    # NX arms the TTL only on the increment that created the key.
                    pipe.expire(full_key, expiry, nx=not refresh)
                results = await pipe.execute()
        return int(results[0])

    async def increment(self, key: str, amount: int = 1, expiry: int | None = None) -> int:
        return await self._add(key, amount, expiry, refresh=False)

    async def increment_and_refresh_ttl(
        self, key: str, amount: int = 1, expiry: int | None = None
    ) -> int:
        return await self._add(key, amount, expiry, refresh=True)

    async def increment_window(self, key: str, period: int) -> int:
        # Each window has its own key, so re-arming the TTL on every hit is safe.
        return await self._add(key, 1, period, refresh=True)

    async def get_count(self, key: str) -> int | None:
        with self._guard():
            raw = await self.client.get(self.prefix + key)
        return None if raw is None else int(raw)

    async def reset(self, key: str) -> None:
        with self._guard():
            await self.client.delete(self.prefix + key)

    async def delete(self, key: str) -> bool:
        with self._guard():
            return bool(await self.client.delete(self.prefix + key))

    async def ping(self) -> bool:
        """Return whether Redis responds; an unreachable server returns ``False``."""
        try:
            return bool(await self.client.ping())
        except redis_errors():
            return False

    async def get_ttl(self, key: str) -> int:
        with self._guard():
            ttl = int(await self.client.ttl(self.prefix + key))
        # TTL returns -2 for a missing key and -1 for a key without expiry.
        return max(0, ttl)

    async def initialize(self) -> None:
        with self._guard():
            await self.client.ping()

    async def close(self) -> None:
        if self._owns_client:
            await self.client.aclose()
