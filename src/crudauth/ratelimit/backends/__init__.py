"""Rate-limiter backends."""

from crudauth.ratelimit.backends.database import (
    DatabaseRateLimiterBackend as DatabaseRateLimiterBackend,
)
from crudauth.ratelimit.backends.memory import MemoryRateLimiterBackend as MemoryRateLimiterBackend
from crudauth.ratelimit.backends.redis import RedisBackend as RedisBackend

__all__ = ["DatabaseRateLimiterBackend", "MemoryRateLimiterBackend", "RedisBackend"]
