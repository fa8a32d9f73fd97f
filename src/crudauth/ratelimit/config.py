"""Rate-limit allowances, what they key on, the built-in table and lockout tuning."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Literal, get_args

from starlette.requests import Request

from crudauth.constants import (
    DEFAULT_LOGIN_ATTEMPT_WINDOW_SECONDS,
    DEFAULT_LOGIN_LOCKOUT_BASE_SECONDS,
    DEFAULT_LOGIN_LOCKOUT_MAX_SECONDS,
    DEFAULT_LOGIN_MAX_ATTEMPTS,
    DEFAULT_LOGIN_ROUND_RETENTION_SECONDS,
    SECONDS_PER_HOUR,
)
from crudauth.principal import Principal

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "KeyBy",
    "LockoutConfig",
    "RateLimit",
    "RateLimitResolver",
]


@dataclass(frozen=True)
class RateLimit:
    """An allowance of at most ``times`` requests per fixed window of ``seconds``.

    Attributes:
        times: Requests allowed per window; ``0`` turns the limit off.
        seconds: Window length in seconds.

    Raises:
        ValueError: ``times`` is negative or ``seconds`` is not positive.

    Example:
        ```python
        auth = CRUDAuth(..., rate_limits={"register": RateLimit(times=3, seconds=3600)})
        ```
    """

    times: int
    seconds: int

    def __post_init__(self) -> None:
        if self.times < 0:
            raise ValueError(f"RateLimit times must be >= 0 (0 disables it), got {self.times}")
        if self.seconds <= 0:
            raise ValueError(f"RateLimit seconds must be > 0, got {self.seconds}")

    @property
    def disabled(self) -> bool:
        """Whether the limit is turned off (``times == 0``)."""
        return self.times == 0


# Returns the limit for this request, or None for no limit; may be sync or async.
RateLimitResolver = Callable[
    [Request, Principal | None],
    RateLimit | Awaitable[RateLimit | None] | None,
]


class KeyBy(str, Enum):
    """Throttle identity: what a throttle counts requests against.

    Attributes:
        IP: The client address (an IPv6 client counts as its /64 network).
        USER: The signed-in user.
        USER_OR_IP: The signed-in user, else the client address.
    """

    IP = "ip"
    USER = "user"
    USER_OR_IP = "user_or_ip"


DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    "register": RateLimit(5, SECONDS_PER_HOUR),
    "email_verify_request": RateLimit(5, SECONDS_PER_HOUR),
    "password_reset_request": RateLimit(5, SECONDS_PER_HOUR),
    "email_change_request": RateLimit(3, SECONDS_PER_HOUR),
    "existing_account_notice": RateLimit(5, SECONDS_PER_HOUR),
    "change_password": RateLimit(5, SECONDS_PER_HOUR),
    "logout_all": RateLimit(10, SECONDS_PER_HOUR),
    "csrf_refresh": RateLimit(30, SECONDS_PER_HOUR),
    "oauth_authorize": RateLimit(30, SECONDS_PER_HOUR),
    "mfa_manage": RateLimit(10, SECONDS_PER_HOUR),
}
"""Built-in allowances of crudauth's throttled routes, keyed by action name.

``CRUDAuth(rate_limits=...)`` replaces entries by the same names and rejects any other
name. A ``RateLimit(0, ...)`` turns an action's throttle off.
"""

# "clear_all" also returns this identifier's own failures from this IP on success;
# "clear_user_only" leaves every IP counter as it is.
LoginSuccessClears = Literal["clear_all", "clear_user_only"]


@dataclass(frozen=True)
class LockoutConfig:
    """Tuning of the escalating login lockout shared by every password login.

    Attributes:
        max_attempts: Attempts allowed per IP and per identifier within the window.
        attempt_window_seconds: Length of the counting window.
        lockout_base_seconds: Duration of the first lock; each later round doubles it.
        lockout_max_seconds: Cap on a lock's duration.
        round_retention_seconds: How long the round count is kept after the latest
            lock, so a paced attack keeps escalating.
        on_login_success: ``"clear_all"`` also forgets this identifier's failures from
            this IP on success; ``"clear_user_only"`` leaves every IP counter alone.

    Raises:
        ValueError: A duration or count is not a positive integer, or
            ``on_login_success`` is not one of the two modes.
    """

    max_attempts: int = DEFAULT_LOGIN_MAX_ATTEMPTS
    attempt_window_seconds: int = DEFAULT_LOGIN_ATTEMPT_WINDOW_SECONDS
    lockout_base_seconds: int = DEFAULT_LOGIN_LOCKOUT_BASE_SECONDS
    lockout_max_seconds: int = DEFAULT_LOGIN_LOCKOUT_MAX_SECONDS
    round_retention_seconds: int = DEFAULT_LOGIN_ROUND_RETENTION_SECONDS
    on_login_success: LoginSuccessClears = "clear_all"

    def __post_init__(self) -> None:
        for name in (
            "max_attempts",
            "attempt_window_seconds",
            "lockout_base_seconds",
            "lockout_max_seconds",
            "round_retention_seconds",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"LockoutConfig.{name} must be a positive integer, got {value!r}")
        if self.on_login_success not in get_args(LoginSuccessClears):
            raise ValueError(
                "LockoutConfig.on_login_success must be 'clear_all' or 'clear_user_only', "
                f"got {self.on_login_success!r}"
            )
