"""Steps every recovery flow shares: token minting, delivery, redemption and hooks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NoReturn

from crudauth.email.channel import DeliveryChannel, DeliveryIntent
from crudauth.email.constants import (
    INVALID_OR_EXPIRED_TOKEN,
    RESET,
    TOKEN_ALREADY_USED,
    VERIFY,
)
from crudauth.email.delivery import fan_out, target_throttled
from crudauth.email.tokens import RecoveryTokens
from crudauth.exceptions import BadRequestException
from crudauth.hooks import AuthHooks, HookContext
from crudauth.security_log import SecurityEventType, record_security_event
from crudauth.utils.http import safe_redirect_path

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.ratelimit import RateLimit, RateLimiterBackend
    from crudauth.repository import UserRepository

__all__ = ["RecoveryFlowSteps"]

security_logger = logging.getLogger("crudauth.security")


class RecoveryFlowSteps:
    """Account-state binding, minting, delivery, throttling, redemption and hooks.

    A mixin of ``EmailFlowService`` without a constructor: ``EmailFlowService.__init__``
    sets every field.

    Attributes:
        repo: The user repository.
        hooks: The app's hooks, fired after a confirmed flow.
        channels: The delivery channels, the built-in email channel first.
        rate_limiter: Backend counting the per-target throttles, or ``None`` when they
            are off.
        rate_limits: Allowances by action name.
        tokens: The minter, verifier and single-use guard of the recovery tokens.
    """

    repo: UserRepository
    hooks: AuthHooks
    channels: list[DeliveryChannel]
    rate_limiter: RateLimiterBackend | None
    rate_limits: dict[str, RateLimit]
    tokens: RecoveryTokens
    # The facade's runtime: ending credentials covers token families through it.
    runtime: Any = None

    def _state(self, purpose: str, user: Any) -> list[Any]:
        """Return the account values a token of ``purpose`` is bound to."""
        repo = self.repo
        password_hash = repo.get(user, "hashed_password")
        recovery_value = repo.get(user, repo.recovery) if repo.recovery else None
        if purpose == VERIFY:
            return [recovery_value]
        if purpose == RESET:
            return [password_hash, recovery_value, repo.get(user, "email")]
        return [password_hash, repo.get(user, "email"), repo.token_version(user)]

    def _mint(self, user: Any, purpose: str, ttl_hours: int, **claims: Any) -> str:
        extra = {name: value for name, value in claims.items() if value}
        return self.tokens.mint(
            self.repo.user_id(user),
            purpose,
            ttl_hours=ttl_hours,
            state=self._state(purpose, user),
            extra_claims=extra,
        )

    async def _deliver(self, intent: DeliveryIntent, db: AsyncSession | None) -> None:
        await fan_out(self.channels, intent, db)

    async def _throttled(self, action: str, target: str) -> bool:
        return await target_throttled(self.rate_limiter, self.rate_limits, action, target)

    async def _load_active(self, db: AsyncSession, field: str, value: Any) -> Any:
        user = await self.repo.get_by_field(db, field, value)
        # An inactive account is treated as absent, so it never receives a link.
        if user is None or not self.repo.is_active(user):
            return None
        return user

    async def _redeemable(
        self, db: AsyncSession, token: str, purpose: str
    ) -> tuple[dict[str, Any], Any]:
        """Return the claims and the user of a token that may be redeemed now."""
        claims = self.tokens.verify(token, purpose)
        if claims is None:
            self._reject(purpose, "signature_expiry_or_purpose")
        user = await self.repo.get_by_id(db, claims["sub"])
        if user is None or not self.repo.is_active(user):
            self._reject(purpose, "account_missing_or_inactive")
        # Stops a link from outliving the password, address or epoch it was issued for.
        if not self.tokens.state_matches(claims, purpose, self._state(purpose, user)):
            self._reject(purpose, "account_state_changed")
        return claims, user

    @staticmethod
    def _reject(purpose: str, reason: str) -> NoReturn:
        security_logger.warning("recovery token rejected purpose=%s reason=%s", purpose, reason)
        raise BadRequestException(INVALID_OR_EXPIRED_TOKEN)

    async def _consume(self, token: str, purpose: str, ttl_hours: int) -> None:
        if not await self.tokens.consume(token, ttl_hours):
            security_logger.warning("recovery token replayed purpose=%s", purpose)
            raise BadRequestException(TOKEN_ALREADY_USED)

    async def _fire(self, name: str, db: AsyncSession, user: Any) -> Any:
        if name == "on_after_email_changed" and self.runtime is not None:
            await record_security_event(
                self.runtime, self.repo.user_id(user), SecurityEventType.EMAIL_CHANGED
            )
        if not await self.hooks.fire(name, self.repo.to_dict(user), db=db, context=HookContext()):
            # Only the hook's uncommitted work is lost: crudauth committed first.
            await db.rollback()
            user = await self.repo.refresh_if_expired(db, user)
        return user


def _safe(redirect_to: Any) -> str | None:
    """Return ``redirect_to`` when it is a same-site relative path, else None."""
    if not isinstance(redirect_to, str):
        return None
    return safe_redirect_path(redirect_to, default="") or None
