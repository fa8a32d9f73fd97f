"""``EmailFlowService``: mint, deliver and redeem the recovery tokens.

``EmailFlowService`` is split by concept. It inherits the request flows, which mint a
token and deliver its link, from ``request_flows`` and the steps every flow shares from
``flow_steps``. This module contains its constructor and the confirm flows, which redeem
a token and return an ``EmailFlowResult``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy.exc import IntegrityError

from crudauth.constants import DEFAULT_ALGORITHM
from crudauth.email.channel import DeliveryChannel, DeliveryIntent, EmailChannel
from crudauth.email.config import EmailConfig
from crudauth.email.constants import (
    CHANGE,
    DEFAULT_CHANGE_TTL_HOURS,
    DEFAULT_RESET_TTL_HOURS,
    DEFAULT_VERIFY_TTL_HOURS,
    EMAIL_IN_USE,
    INVALID_TOKEN,
    NEW_EMAIL_CLAIM,
    REDIRECT_CLAIM,
    RESET,
    VERIFY,
)
from crudauth.email.flow_steps import _safe
from crudauth.email.request_flows import RecoveryRequests
from crudauth.email.tokens import RecoveryTokens
from crudauth.exceptions import BadRequestException, DuplicateValueException
from crudauth.hooks import AuthHooks
from crudauth.password import PasswordContext, PasswordPolicy
from crudauth.revocation import end_user_credentials
from crudauth.security_log import SecurityEventType, record_security_event
from crudauth.utils.hashing import DEFAULT_PASSWORD_HASHING
from crudauth.utils.identifiers import canonical_email

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.ratelimit import RateLimit, RateLimiterBackend
    from crudauth.repository import UserRepository
    from crudauth.storage.base import AbstractSessionStorage
    from crudauth.transports.session import SessionManager
    from crudauth.utils.password_hashing import PasswordHashing

__all__ = ["EmailFlowResult", "EmailFlowService"]

logger = logging.getLogger("crudauth.email")

SESSION_END_REASON = "password_reset"


class EmailFlowResult(NamedTuple):
    """The account a confirmed flow changed and the safe redirect its token carried.

    Attributes:
        user: The updated user row.
        redirect_to: The same-site relative path the request carried, or ``None``.
    """

    user: Any
    redirect_to: str | None


def _resolve_ttl(explicit: int | None, configured: int | None, default: int) -> int:
    for value in (explicit, configured):
        if value is not None:
            return value
    return default


class EmailFlowService(RecoveryRequests):
    """Verification, password reset and email change over signed one-time tokens.

    The request methods stop silently (absent, inactive or throttled account) so their
    caller can respond the same way for every address. The confirm methods validate
    everything first and redeem the token last, so a request rejected for a fixable
    reason (a weak password, a taken address) leaves the token usable. They raise HTTP
    exceptions (400, 422) that a hand-written route can let propagate.

    ``CRUDAuth`` builds the service from ``email=`` and ``channels=`` and exposes it as
    ``auth.emails``. The constructor's TTL arguments override ``config``'s lifetimes.

    Args:
        repo: The user repository.
        secret_key: Signs the tokens.
        hooks: The app's hooks, fired after a confirmed flow.
        config: Email settings; adds the built-in ``EmailChannel`` first.
        channels: More delivery channels, after the email channel.
        algorithm: The JWT signing algorithm.
        token_store: Records redeemed tokens; ``None`` means no single-use guard.
        session_manager: Ends sessions after a password reset when no runtime is set.
        rate_limiter: Counts the per-target throttles; ``None`` turns them off.
        rate_limits: Allowances by action name.
        verify_ttl_hours: Lifetime of verification links in hours.
        reset_ttl_hours: Lifetime of reset links in hours.
        change_ttl_hours: Lifetime of email-change links in hours.
        password_policy: The policy a reset password must pass.
        previous_secret_keys: Retired secrets whose tokens still verify.
        passwords: The configured hasher; defaults to bcrypt without a pepper.

    Example:
        ```python
        @app.post("/support/send-reset")
        async def send_reset(email: str, db: AsyncSession = Depends(get_db)):
            await auth.emails.request_password_reset(db, email)
            return {"detail": "If an account exists, a link has been sent."}
        ```
    """

    def __init__(
        self,
        *,
        repo: UserRepository,
        secret_key: str,
        hooks: AuthHooks,
        config: EmailConfig | None = None,
        channels: Sequence[DeliveryChannel] | None = None,
        algorithm: str = DEFAULT_ALGORITHM,
        token_store: AbstractSessionStorage[Any] | None = None,
        session_manager: SessionManager | None = None,
        rate_limiter: RateLimiterBackend | None = None,
        rate_limits: Mapping[str, RateLimit] | None = None,
        verify_ttl_hours: int | None = None,
        reset_ttl_hours: int | None = None,
        change_ttl_hours: int | None = None,
        password_policy: PasswordPolicy | None = None,
        previous_secret_keys: Sequence[str] = (),
        passwords: PasswordHashing | None = None,
    ) -> None:
        self.repo = repo
        self.passwords = passwords or DEFAULT_PASSWORD_HASHING
        self.secret_key = secret_key
        self.hooks = hooks
        self.config = config
        self.algorithm = algorithm
        self.token_store = token_store
        self.session_manager = session_manager
        self.rate_limiter = rate_limiter
        self.rate_limits: dict[str, RateLimit] = dict(rate_limits or {})
        self.password_policy = password_policy or PasswordPolicy()
        self.verify_ttl_hours = _resolve_ttl(
            verify_ttl_hours, config.verify_ttl_hours if config else None, DEFAULT_VERIFY_TTL_HOURS
        )
        self.reset_ttl_hours = _resolve_ttl(
            reset_ttl_hours, config.reset_ttl_hours if config else None, DEFAULT_RESET_TTL_HOURS
        )
        self.change_ttl_hours = _resolve_ttl(
            change_ttl_hours, config.change_ttl_hours if config else None, DEFAULT_CHANGE_TTL_HOURS
        )
        built_in: list[DeliveryChannel] = [EmailChannel(config)] if config is not None else []
        self.channels: list[DeliveryChannel] = [*built_in, *(channels or [])]
        self.tokens = RecoveryTokens(
            secret_key,
            algorithm=algorithm,
            previous_keys=previous_secret_keys,
            store=token_store,
        )

    @property
    def supports_email_change(self) -> bool:
        """Whether the model has an email column and some channel sends email."""
        return self.repo.has("email") and any(c.sends_email for c in self.channels)

    # -- confirm flows -----------------------------------------------------------------

    async def confirm_recovery_verification(self, db: AsyncSession, token: str) -> EmailFlowResult:
        """Redeem a verification token and mark the recovery factor verified.

        Args:
            db: The database session.
            token: The token from the link.

        Returns:
            The user and the token's redirect.

        Raises:
            BadRequestException: The token is invalid, expired, already used or no
                longer matches the account.
        """
        claims, user = await self._redeemable(db, token, VERIFY)
        await self._consume(token, VERIFY, self.verify_ttl_hours)

        if not self.repo.recovery_verified(user):
            user = await self.repo.mark_recovery_verified(db, user)
            user = await self._fire("on_after_recovery_verified", db, user)
        return EmailFlowResult(user, _safe(claims.get(REDIRECT_CLAIM)))

    async def reset_password(
        self, db: AsyncSession, token: str, new_password: str
    ) -> EmailFlowResult:
        """Redeem a reset token, set the new password and sign the user out everywhere.

        Bumping ``token_version`` ends every bearer token, and every server-side
        session and token family is ended too.

        Args:
            db: The database session.
            token: The token from the link.
            new_password: The new password.

        Returns:
            The user and the token's redirect.

        Raises:
            BadRequestException: The token is invalid, expired, already used or no
                longer matches the account, or the password changed meanwhile.
            PasswordPolicyException: The new password fails the policy (422); the
                token stays usable.
        """
        claims, user = await self._redeemable(db, token, RESET)
        await self.password_policy.enforce(
            new_password,
            PasswordContext.for_user(self.repo, "reset", user),
            field="new_password",
        )
        hashed = await self.passwords.hash_async(new_password)
        previous_hash = self.repo.get(user, "hashed_password")
        await self._consume(token, RESET, self.reset_ttl_hours)

        # Compare-and-set: a password changed since the check wins over this reset.
        written = await self.repo.update_if_unchanged(
            db, user, {"hashed_password": previous_hash}, {"hashed_password": hashed}
        )
        if not written:
            self._reject(RESET, "password_changed_concurrently")
        user = await self.repo.increment_token_version(db, user)
        user_id = self.repo.user_id(user)
        # Every session and token family ends, the one of the resetting browser too.
        if self.runtime is not None:
            ended = await end_user_credentials(self.runtime, user_id, reason=SESSION_END_REASON)
            await record_security_event(self.runtime, user_id, SecurityEventType.PASSWORD_RESET)
        elif self.session_manager is not None:
            ended = await self.session_manager.terminate_all_user_sessions(
                user_id, reason=SESSION_END_REASON
            )
        else:
            ended = 0
        logger.info("password reset user_id=%s credentials_ended=%s", user_id, ended)
        user = await self._fire("on_after_password_reset", db, user)
        return EmailFlowResult(user, _safe(claims.get(REDIRECT_CLAIM)))

    async def confirm_email_change(self, db: AsyncSession, token: str) -> EmailFlowResult:
        """Redeem a change token: set the new address, mark it verified, notify the old.

        Args:
            db: The database session.
            token: The token from the link.

        Returns:
            The user and the token's redirect.

        Raises:
            BadRequestException: The token is invalid, expired, already used or no
                longer matches the account, or the address changed meanwhile.
            DuplicateValueException: Another account has taken the address since the
                link was sent (422). The token stays usable unless the address was
                taken between the check and the write.
        """
        claims, user = await self._redeemable(db, token, CHANGE)
        new_email = claims.get(NEW_EMAIL_CLAIM)
        if not isinstance(new_email, str) or not new_email:
            raise BadRequestException(INVALID_TOKEN)
        new_email = canonical_email(new_email)
        if await self.repo.get_by_field(db, "email", new_email) is not None:
            raise DuplicateValueException(EMAIL_IN_USE)
        await self._consume(token, CHANGE, self.change_ttl_hours)

        previous = self.repo.get(user, "email")
        try:
            written = await self.repo.update_if_unchanged(
                db, user, {"email": previous}, {"email": new_email, "email_verified": True}
            )
        except IntegrityError:
            # Another account took the address between the check and the write.
            await db.rollback()
            raise DuplicateValueException(EMAIL_IN_USE) from None
        if not written:
            self._reject(CHANGE, "email_changed_concurrently")

        if previous:
            notice = DeliveryIntent(
                kind="email_changed",
                token=None,
                user=self.repo.to_dict(user),
                recipient=str(previous),
                expires_in=0,
            )
            await self._deliver(notice, db)
        user = await self._fire("on_after_email_changed", db, user)
        return EmailFlowResult(user, _safe(claims.get(REDIRECT_CLAIM)))
