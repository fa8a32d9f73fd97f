"""Rate limiting and the login lockout: counters, policies and their configuration."""

from __future__ import annotations

from typing import Any

from crudauth.ratelimit.backends.database import (
    DatabaseRateLimiterBackend as DatabaseRateLimiterBackend,
)
from crudauth.ratelimit.backends.memory import MemoryRateLimiterBackend as MemoryRateLimiterBackend
from crudauth.ratelimit.backends.redis import RedisBackend as RedisBackend
from crudauth.ratelimit.base import RateLimiterBackend as RateLimiterBackend
from crudauth.ratelimit.config import DEFAULT_RATE_LIMITS as DEFAULT_RATE_LIMITS
from crudauth.ratelimit.config import KeyBy as KeyBy
from crudauth.ratelimit.config import LockoutConfig as LockoutConfig
from crudauth.ratelimit.config import RateLimit as RateLimit
from crudauth.ratelimit.config import RateLimitResolver as RateLimitResolver
from crudauth.ratelimit.constants import REDIS_KEY_PREFIX
from crudauth.ratelimit.headers import RateLimitHeadersMiddleware as RateLimitHeadersMiddleware
from crudauth.ratelimit.policy import LockoutPolicy as LockoutPolicy

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "DatabaseRateLimiterBackend",
    "KeyBy",
    "LockoutConfig",
    "LockoutPolicy",
    "MemoryRateLimiterBackend",
    "RateLimit",
    "RateLimitHeadersMiddleware",
    "RateLimitResolver",
    "RateLimiterBackend",
    "RedisBackend",
    "redis_rate_limiter",
]


def redis_rate_limiter(
    redis_url: str | None = None, client: Any = None, prefix: str = REDIS_KEY_PREFIX
) -> RedisBackend:
    """Build a Redis limiter on ``client`` (borrowed) or a client for ``redis_url``.

    Args:
        redis_url: URL of the Redis server; used when ``client`` is ``None``.
        client: An open ``redis.asyncio`` client to share; the limiter never closes it.
        prefix: Prefix of every counter key.

    Returns:
        The limiter, ready to pass as ``CRUDAuth(rate_limiter=...)``.

    Raises:
        ImportError: ``redis`` is not installed and no ``client`` is given; the
            message names the extra to install.

    Example:
        ```python
        auth = CRUDAuth(..., rate_limiter=redis_rate_limiter("redis://localhost:6379/0"))
        ```
    """
    return RedisBackend(redis_url=redis_url, client=client, prefix=prefix)
