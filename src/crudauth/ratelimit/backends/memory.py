"""In-process rate-limit counters on a monotonic clock."""

from __future__ import annotations

import math
import time

from crudauth.ratelimit.base import RateLimiterBackend
from crudauth.ratelimit.constants import MEMORY_SWEEP_EVERY_INCREMENTS

__all__ = ["MemoryRateLimiterBackend"]


class MemoryRateLimiterBackend(RateLimiterBackend):
    """Counters in dictionaries, private to one process.

    Deadlines come from ``time.monotonic``, looked up through this module's ``time``
    attribute on every call so tests can replace the clock. Expired keys are evicted on
    access, and a full sweep every 256 increments bounds the memory taken by abandoned
    window keys. No call awaits, so every operation is atomic. Use it for development
    and single-process apps only, because each worker counts on its own.
    """

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        # Monotonic deadline of each key; a key without TTL has no entry.
        self._deadlines: dict[str, float] = {}
        self._increments = 0

    def window_clock(self) -> float:
        return time.monotonic()

    def _live(self, key: str, now: float) -> bool:
        if key not in self._counts:
            return False
        deadline = self._deadlines.get(key)
        if deadline is not None and deadline <= now:
            del self._counts[key]
            del self._deadlines[key]
            return False
        return True

    def _note_increment(self, now: float) -> None:
        self._increments += 1
        if self._increments % MEMORY_SWEEP_EVERY_INCREMENTS:
            return
        expired = [key for key, deadline in self._deadlines.items() if deadline <= now]
        for key in expired:
            del self._deadlines[key]
            self._counts.pop(key, None)

    async def increment(self, key: str, amount: int = 1, expiry: int | None = None) -> int:
        return self._add(key, amount, expiry, rearm=False)

    async def increment_and_refresh_ttl(
        self, key: str, amount: int = 1, expiry: int | None = None
    ) -> int:
        return self._add(key, amount, expiry, rearm=True)

    def _add(self, key: str, amount: int, expiry: int | None, *, rearm: bool) -> int:
        """Add ``amount``; arm the TTL on creation, or on every call with ``rearm``."""
        now = time.monotonic()
        created = not self._live(key, now)
        if created:
            self._counts[key] = amount
        else:
            self._counts[key] += amount
        if expiry is not None and (created or rearm):
            self._deadlines[key] = now + expiry
        self._note_increment(now)
        return self._counts[key]

    async def get_count(self, key: str) -> int | None:
        if not self._live(key, time.monotonic()):
            return None
        return self._counts[key]

    async def reset(self, key: str) -> None:
        await self.delete(key)

    async def delete(self, key: str) -> bool:
        existed = self._live(key, time.monotonic())
        self._counts.pop(key, None)
        self._deadlines.pop(key, None)
        return existed

    async def ping(self) -> bool:
        return True

    async def get_ttl(self, key: str) -> int:
        now = time.monotonic()
        if not self._live(key, now):
            return 0
        deadline = self._deadlines.get(key)
        if deadline is None:
            return 0
        # Rounded up, so a lock with a fraction of a second left still reads as held.
        return math.ceil(deadline - now)
