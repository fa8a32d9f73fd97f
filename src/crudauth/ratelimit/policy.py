"""The escalating login lockout, keyed by client IP and by login identifier."""

from __future__ import annotations

import logging

from crudauth.constants import (
    DEFAULT_LOGIN_ATTEMPT_WINDOW_SECONDS,
    DEFAULT_LOGIN_LOCKOUT_BASE_SECONDS,
    DEFAULT_LOGIN_LOCKOUT_MAX_SECONDS,
    DEFAULT_LOGIN_MAX_ATTEMPTS,
    DEFAULT_LOGIN_ROUND_RETENTION_SECONDS,
)
from crudauth.exceptions import StoreUnavailableError
from crudauth.ratelimit.base import RateLimiterBackend
from crudauth.ratelimit.config import LockoutConfig, LoginSuccessClears
from crudauth.ratelimit.constants import LOCKOUT_NAMESPACE
from crudauth.utils.http import client_ip_key
from crudauth.utils.identifiers import canonical_identifier

__all__ = ["LockoutPolicy"]

logger = logging.getLogger("crudauth.ratelimit")


def _lockout_subjects(ip: str, identifier: str) -> tuple[str, str]:
    # Canonical forms stop an attacker from multiplying attempts by varying the case of
    # an identifier or by rotating addresses inside one IPv6 /64.
    return client_ip_key(ip), canonical_identifier(identifier)


class _Keys:
    """Every counter key of one (IP, identifier) pair."""

    def __init__(self, ip: str, user: str) -> None:
        self.ip = f"{LOCKOUT_NAMESPACE}:ip:{ip}"
        self.user = f"{LOCKOUT_NAMESPACE}:user:{user}"
        self.pair = f"{LOCKOUT_NAMESPACE}:pair:{ip}:{user}"
        self.ip_lock = f"{LOCKOUT_NAMESPACE}:lock:ip:{ip}"
        self.user_lock = f"{LOCKOUT_NAMESPACE}:lock:user:{user}"
        self.ip_rounds = f"{LOCKOUT_NAMESPACE}:rounds:ip:{ip}"
        self.user_rounds = f"{LOCKOUT_NAMESPACE}:rounds:user:{user}"


class LockoutPolicy:
    """Lock an IP and an identifier after too many login attempts, doubling each round.

    Every attempt is counted against the client IP (IPv6 grouped by /64) and against
    the canonical identifier. When either count passes ``max_attempts``, both are
    locked for ``lockout_base_seconds * 2**rounds`` (capped at ``lockout_max_seconds``).
    The round count is remembered for ``round_retention_seconds`` after the latest lock,
    so a slow, paced attack keeps escalating. ``CRUDAuth`` builds one from
    ``lockout=LockoutConfig(...)``.

    Args:
        backend: The counter backend.
        max_attempts: Attempts allowed per IP and per identifier within the window.
        attempt_window_seconds: Length of the counting window.
        lockout_base_seconds: Duration of the first lock.
        lockout_max_seconds: Cap on a lock's duration.
        round_retention_seconds: How long the round count outlives the latest lock.
        on_login_success: ``"clear_all"`` or ``"clear_user_only"``, as in
            ``LockoutConfig``.
        fail_open: On a backend failure, allow the login (``True``) or reject it
            (``False``, the default).

    Raises:
        ValueError: A number is not a positive integer or ``on_login_success`` is
            not one of the two modes.
    """

    def __init__(
        self,
        backend: RateLimiterBackend,
        *,
        max_attempts: int = DEFAULT_LOGIN_MAX_ATTEMPTS,
        attempt_window_seconds: int = DEFAULT_LOGIN_ATTEMPT_WINDOW_SECONDS,
        lockout_base_seconds: int = DEFAULT_LOGIN_LOCKOUT_BASE_SECONDS,
        lockout_max_seconds: int = DEFAULT_LOGIN_LOCKOUT_MAX_SECONDS,
        round_retention_seconds: int = DEFAULT_LOGIN_ROUND_RETENTION_SECONDS,
        on_login_success: LoginSuccessClears = "clear_all",
        fail_open: bool = False,
    ) -> None:
        # LockoutConfig validates every number and the success mode.
        self.config = LockoutConfig(
            max_attempts=max_attempts,
            attempt_window_seconds=attempt_window_seconds,
            lockout_base_seconds=lockout_base_seconds,
            lockout_max_seconds=lockout_max_seconds,
            round_retention_seconds=round_retention_seconds,
            on_login_success=on_login_success,
        )
        self.backend = backend
        self.max_attempts = max_attempts
        self.attempt_window_seconds = attempt_window_seconds
        self.lockout_base_seconds = lockout_base_seconds
        self.lockout_max_seconds = lockout_max_seconds
        self.round_retention_seconds = round_retention_seconds
        self.on_login_success: LoginSuccessClears = on_login_success
        self.fail_open = fail_open

    @classmethod
    def from_config(
        cls, backend: RateLimiterBackend, config: LockoutConfig, *, fail_open: bool = False
    ) -> LockoutPolicy:
        """Build a policy with the numbers of ``config``.

        Args:
            backend: The counter backend.
            config: The lockout tuning.
            fail_open: On a backend failure, allow the login instead of rejecting it.

        Returns:
            The policy.
        """
        return cls(
            backend,
            max_attempts=config.max_attempts,
            attempt_window_seconds=config.attempt_window_seconds,
            lockout_base_seconds=config.lockout_base_seconds,
            lockout_max_seconds=config.lockout_max_seconds,
            round_retention_seconds=config.round_retention_seconds,
            on_login_success=config.on_login_success,
            fail_open=fail_open,
        )

    @property
    def tracks_pairs(self) -> bool:
        """Whether failures per IP and identifier pair are counted for ``clear_all``."""
        return self.on_login_success == "clear_all"

    async def check_and_record(
        self, ip: str, identifier: str, success: bool = False
    ) -> tuple[bool, int, int]:
        """Record one login attempt; return ``(allowed, remaining, retry_after)``.

        Call it with ``success=False`` before the password is checked, and with
        ``success=True`` after a successful login to clear this identifier's pressure.
        A live lock rejects the attempt without counting it.

        Args:
            ip: The client address; an IPv6 address counts as its /64 network.
            identifier: The login identifier as typed; it is canonicalized.
            success: Record a successful login instead of an attempt.

        Returns:
            ``(allowed, remaining, retry_after)``: whether the attempt may proceed, the
            attempts left in the window, and the seconds until a lock ends. A backend
            failure returns ``(True, max_attempts, 0)`` with ``fail_open`` and
            ``(False, 0, lockout_base_seconds)`` without it.

        Raises:
            StoreUnavailableError: The store is unreachable and ``fail_open`` is
                false.
        """
        keys = _Keys(*_lockout_subjects(ip, identifier))
        try:
            if success:
                await self._clear_after_success(keys)
                return True, self.max_attempts, 0
            return await self._record_attempt(keys)
        except Exception as exc:  # any backend failure takes the configured fail mode
            self._log_failure("check_and_record", exc)
            if self.fail_open:
                return True, self.max_attempts, 0
            # An unreachable store is a 503 naming the store; the login stays refused.
            if isinstance(exc, StoreUnavailableError):
                raise
            # Failing closed stops a limiter outage from lifting the brute-force limit.
            return False, 0, self.lockout_base_seconds

    async def _record_attempt(self, keys: _Keys) -> tuple[bool, int, int]:
        backend = self.backend
        held = max(await backend.get_ttl(keys.ip_lock), await backend.get_ttl(keys.user_lock))
        # A correct password never lifts a live lock, and locked tries are not counted.
        if held > 0:
            return False, 0, held

        window = self.attempt_window_seconds
        ip_count = await backend.increment(keys.ip, 1, window)
        user_count = await backend.increment(keys.user, 1, window)
        if self.tracks_pairs:
            # The pair counter ends with the IP window, so a later success never returns
            # failures the IP counter has already forgotten.
            pair_ttl = await backend.get_ttl(keys.ip) or window
            await backend.increment(keys.pair, 1, pair_ttl)

        count = max(ip_count, user_count)
        if count <= self.max_attempts:
            return True, self.max_attempts - count, 0

        rounds = max(
            await backend.get_count(keys.ip_rounds) or 0,
            await backend.get_count(keys.user_rounds) or 0,
        )
        retry_after = min(self.lockout_base_seconds * 2**rounds, self.lockout_max_seconds)
        # Locking both sides stops a spray across identifiers and a spread across IPs.
        await backend.increment_and_refresh_ttl(keys.ip_lock, 1, retry_after)
        await backend.increment_and_refresh_ttl(keys.user_lock, 1, retry_after)
        retention = max(retry_after, self.round_retention_seconds)
        await backend.increment_and_refresh_ttl(keys.ip_rounds, 1, retention)
        await backend.increment_and_refresh_ttl(keys.user_rounds, 1, retention)
        return False, 0, retry_after

    async def _clear_after_success(self, keys: _Keys) -> None:
        backend = self.backend
        await backend.reset(keys.user)
        await backend.reset(keys.user_lock)
        await backend.reset(keys.user_rounds)
        if not self.tracks_pairs:
            return

        # Only this identifier's own failures from this IP come back, so signing in to
        # one's own account cannot launder a password spray against other accounts.
        own_failures = await backend.get_count(keys.pair) or 0
        await backend.reset(keys.pair)
        if own_failures > 0:
            await self._take_back(keys.ip, own_failures)

    async def _take_back(self, key: str, amount: int) -> None:
        current = await self.backend.get_count(key) or 0
        taken = min(amount, current)
        if taken > 0:
            # The expiry only applies when the key vanished in between, so a recreated
            # negative counter still ends with the window.
            await self.backend.increment(key, -taken, self.attempt_window_seconds)

    async def forget_attempt(self, ip: str, identifier: str) -> None:
        """Take back one attempt of this pair, for a correct password awaiting MFA.

        Backend errors are logged, not raised, and earlier failures stay counted.

        Args:
            ip: The client address.
            identifier: The login identifier as typed.
        """
        keys = _Keys(*_lockout_subjects(ip, identifier))
        counters = [keys.ip, keys.user]
        if self.tracks_pairs:
            counters.append(keys.pair)
        try:
            for key in counters:
                await self._take_back(key, 1)
        except Exception as exc:  # a lost decrement only leaves one extra attempt counted
            self._log_failure("forget_attempt", exc)

    def _log_failure(self, operation: str, exc: Exception) -> None:
        # Store errors were already logged once by the backend that raised them.
        if isinstance(exc, StoreUnavailableError):
            return
        logger.error(
            "Login lockout %s failed on %s (%s); failing %s",
            operation,
            type(self.backend).__name__,
            type(exc).__name__,
            "open" if self.fail_open else "closed",
        )
