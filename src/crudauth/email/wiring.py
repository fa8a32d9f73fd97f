"""Build the recovery service for the facade from ``email=`` and ``channels=``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from crudauth.constants import USED_TOKEN_TTL_SECONDS
from crudauth.email.channel import DeliveryChannel
from crudauth.email.config import EmailConfig
from crudauth.email.service import EmailFlowService

if TYPE_CHECKING:
    from crudauth.core import AuthRuntime
    from crudauth.hooks import AuthHooks
    from crudauth.password import PasswordPolicy
    from crudauth.ratelimit import RateLimit, RateLimiterBackend
    from crudauth.repository import UserRepository
    from crudauth.storage.base import AbstractSessionStorage
    from crudauth.transports.session import SessionManager

__all__ = ["USED_TOKEN_PREFIX", "build_email_service"]

USED_TOKEN_PREFIX = "used_token:"


class _Facade(Protocol):
    repo: UserRepository
    hooks: AuthHooks
    runtime: AuthRuntime
    password_policy: PasswordPolicy

    @property
    def rate_limits(self) -> dict[str, RateLimit]: ...

    @property
    def rate_limiter(self) -> RateLimiterBackend: ...

    @property
    def session_manager(self) -> SessionManager | None: ...

    def auxiliary_storage(
        self, prefix: str, expiration: int, *, label: str = ...
    ) -> AbstractSessionStorage[Any]: ...


def build_email_service(
    auth: _Facade, email: Any, channels: Sequence[Any] | None
) -> EmailFlowService | None:
    """Return the recovery service, or None when neither setting is given.

    Args:
        auth: The facade, for the repository, hooks, stores and limits.
        email: The ``email=`` setting, or ``None``.
        channels: The ``channels=`` setting, or ``None``.

    Raises:
        TypeError: ``email`` is not an ``EmailConfig`` or a channel is not a
            ``DeliveryChannel``.
    """
    if email is None and not channels:
        return None
    if email is not None and not isinstance(email, EmailConfig):
        raise TypeError(f"email= must be an EmailConfig, not {type(email).__name__}")
    for channel in channels or ():
        if not isinstance(channel, DeliveryChannel):
            raise TypeError(
                f"channels= must contain DeliveryChannel instances, not {type(channel).__name__}"
            )
    runtime = auth.runtime
    return EmailFlowService(
        repo=auth.repo,
        secret_key=runtime.secret_key,
        hooks=auth.hooks,
        config=email,
        channels=list(channels or ()),
        algorithm=runtime.algorithm,
        token_store=auth.auxiliary_storage(USED_TOKEN_PREFIX, USED_TOKEN_TTL_SECONDS),
        session_manager=auth.session_manager,
        rate_limiter=auth.rate_limiter,
        rate_limits=auth.rate_limits,
        password_policy=auth.password_policy,
        previous_secret_keys=tuple(runtime.previous_secret_keys),
        passwords=runtime.passwords,
    )
