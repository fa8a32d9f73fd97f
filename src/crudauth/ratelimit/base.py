"""The rate-limiter port: a store of expiring integer counters."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod

from crudauth.exceptions import StoreUnavailableError

__all__ = ["RateLimiterBackend"]

logger = logging.getLogger("crudauth.ratelimit")


class RateLimiterBackend(ABC):
    """Counters with a TTL, shared by throttles, the login lockout and sudo.

    Subclasses implement the six abstract primitives, and ``get_ttl`` when they back
    the login lockout. Primitives raise when the backend fails (networked backends
    raise ``StoreUnavailableError``), and the policy that calls them decides whether to
    fail open or closed.

    Example:
        ```python
        auth = CRUDAuth(..., rate_limiter=MemoryRateLimiterBackend())
        ```
    """

    @abstractmethod
    async def increment(self, key: str, amount: int = 1, expiry: int | None = None) -> int:
        """Add ``amount`` to a counter and return the new value.

        The TTL is armed only when this call creates the key, atomically with the
        increment, and later increments never extend it.

        Args:
            key: The counter key, without the backend's prefix.
            amount: The value to add.
            expiry: TTL in seconds for a newly created key; ``None`` sets no TTL.

        Returns:
            The counter's value after the increment.

        Raises:
            StoreUnavailableError: A networked backend failed.
        """

    @abstractmethod
    async def increment_and_refresh_ttl(
        self, key: str, amount: int = 1, expiry: int | None = None
    ) -> int:
        """Add ``amount`` to a counter and re-arm its TTL on every call.

        Args:
            key: The counter key, without the backend's prefix.
            amount: The value to add.
            expiry: TTL in seconds from now; ``None`` leaves the TTL as it is.

        Returns:
            The counter's value after the increment.

        Raises:
            StoreUnavailableError: A networked backend failed.
        """

    @abstractmethod
    async def get_count(self, key: str) -> int | None:
        """Return the counter, or ``None`` when it is absent or expired.

        Args:
            key: The counter key, without the backend's prefix.

        Raises:
            StoreUnavailableError: A networked backend failed.
        """

    @abstractmethod
    async def reset(self, key: str) -> None:
        """Delete the counter.

        Args:
            key: The counter key, without the backend's prefix.

        Raises:
            StoreUnavailableError: A networked backend failed.
        """

    @abstractmethod
    async def delete(self, key: str) -> bool:
        """Delete the counter and return whether a live one existed.

        Args:
            key: The counter key, without the backend's prefix.

        Raises:
            StoreUnavailableError: A networked backend failed.
        """

    @abstractmethod
    async def ping(self) -> bool:
        """Return whether the backend responds; a failure returns ``False``."""

    async def get_ttl(self, key: str) -> int:
        """Return the whole seconds left on ``key``, ``0`` when absent or without TTL.

        A backend used for the login lockout must implement this, because a lock is a
        key whose remaining TTL is positive. The base method always returns ``0``.

        Args:
            key: The counter key, without the backend's prefix.
        """
        return 0

    def window_clock(self) -> float:
        """Return the current time in seconds used to place fixed windows."""
        return time.time()

    async def increment_and_check(
        self, key: str, limit: int, period: int, *, fail_open: bool = True
    ) -> tuple[int, bool, int]:
        """Count one hit in the fixed window of ``period`` seconds around now.

        The counter key is ``<key>:<window start>``, so each window starts from zero.

        Args:
            key: The throttle key, without the window suffix.
            limit: Hits allowed per window; the hit after the last allowed one is
                limited.
            period: Window length in seconds.
            fail_open: On a backend failure, let the request through (``True``) or
                treat it as limited (``False``).

        Returns:
            ``(count, limited, retry_after)``, where ``retry_after`` is the seconds
            left in the window when limited and ``0`` otherwise. A backend failure
            returns ``(0, False, 0)`` with ``fail_open`` and
            ``(limit + 1, True, period)`` without it.

        Raises:
            StoreUnavailableError: The store is unreachable and ``fail_open`` is
                false, so the app returns 503 instead of a 429 that blames the client.
        """
        now = int(self.window_clock())
        window_start = now - now % period
        try:
            count = await self.increment_window(f"{key}:{window_start}", period)
        except Exception as exc:  # any backend failure takes the configured fail mode
            if not isinstance(exc, StoreUnavailableError):
                logger.error(
                    "Rate limiter %s failed (%s); failing %s",
                    type(self).__name__,
                    type(exc).__name__,
                    "open" if fail_open else "closed",
                )
            if fail_open:
                return 0, False, 0
            # An unreachable store is a 503, not a 429 that blames the client.
            if isinstance(exc, StoreUnavailableError):
                raise
            return limit + 1, True, period

        limited = count > limit
        retry_after = period - (now - window_start) if limited else 0
        return count, limited, retry_after

    async def increment_window(self, key: str, period: int) -> int:
        """Count one hit on a window-stamped key that lives ``period`` seconds.

        Args:
            key: The counter key, including the window start.
            period: Window length in seconds, used as the key's TTL.

        Returns:
            The count in this window after the hit.
        """
        return await self.increment(key, 1, period)

    async def initialize(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Open connections."""

    async def close(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Close connections this backend owns."""
