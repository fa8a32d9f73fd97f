"""Rate-limiter backends."""

from crudauth.ratelimit.backends.memory import MemoryRateLimiterBackend as MemoryRateLimiterBackend

__all__ = ["MemoryRateLimiterBackend"]
