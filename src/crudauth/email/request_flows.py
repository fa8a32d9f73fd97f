"""Request flows: deliver verification, reset and email-change links."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crudauth.constants import SECONDS_PER_HOUR
from crudauth.email.channel import DeliveryIntent
from crudauth.email.constants import (
    CHANGE,
    CHANGE_ACTION,
    EXISTING_ACCOUNT_ACTION,
    INCORRECT_PASSWORD,
    NEW_EMAIL_CLAIM,
    REDIRECT_CLAIM,
    RESET,
    RESET_ACTION,
    SAME_EMAIL,
    VERIFY,
    VERIFY_ACTION,
)
from crudauth.email.flow_steps import RecoveryFlowSteps, _safe
from crudauth.exceptions import BadRequestException, ValueTooLongException
from crudauth.utils.identifiers import canonical_email

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.utils.password_hashing import PasswordHashing

__all__ = ["RecoveryRequests"]


class RecoveryRequests(RecoveryFlowSteps):
    """The request flows, which mint a token and hand its link to the delivery channels.

    They stop silently (absent, inactive or throttled account) so their caller can
    respond the same way for every address. A mixin of ``EmailFlowService`` without a
    constructor: ``EmailFlowService.__init__`` sets every field.

    Attributes:
        passwords: The configured hasher, which checks the password of an email change.
        verify_ttl_hours: Lifetime of verification links in hours.
        reset_ttl_hours: Lifetime of reset links in hours.
        change_ttl_hours: Lifetime of email-change links in hours.
    """

    passwords: PasswordHashing
    verify_ttl_hours: int
    reset_ttl_hours: int
    change_ttl_hours: int

    async def notify_existing_account(self, value: str) -> None:
        """Tell the owner of ``value`` that someone tried to register with it.

        Nothing is sent while the address is over its ``existing_account_notice``
        budget.

        Args:
            value: The address that was used at signup.

        Raises:
            StoreUnavailableError: The rate-limit store is unreachable.
        """
        if await self._throttled(EXISTING_ACCOUNT_ACTION, value):
            return
        intent = DeliveryIntent(
            kind="existing_account", token=None, user={}, recipient=value, expires_in=0
        )
        await self._deliver(intent, None)

    async def request_recovery_verification(
        self, db: AsyncSession, value: str, *, redirect_to: str | None = None
    ) -> None:
        """Deliver a verification link for the recovery ``value``, if it may get one.

        Nothing is sent without a recovery factor, over the budget, for an absent or
        inactive account, or for one already verified.

        Args:
            db: The database session.
            value: The recovery factor's value (address or phone number).
            redirect_to: Path to return to after confirmation; dropped unless it is a
                same-site relative path.

        Raises:
            StoreUnavailableError: The rate-limit store is unreachable.
        """
        factor = self.repo.recovery
        if factor is None or await self._throttled(VERIFY_ACTION, value):
            return
        user = await self._load_active(db, factor, value)
        if user is None or self.repo.recovery_verified(user):
            return

        ttl = self.verify_ttl_hours
        token = self._mint(user, VERIFY, ttl, **{REDIRECT_CLAIM: _safe(redirect_to)})
        intent = DeliveryIntent(
            kind="verify_email" if factor == "email" else "verify_recovery",
            token=token,
            user=self.repo.to_dict(user),
            recipient=str(self.repo.get(user, factor)),
            expires_in=ttl * SECONDS_PER_HOUR,
        )
        await self._deliver(intent, db)

    async def request_password_reset(
        self, db: AsyncSession, value: str, *, redirect_to: str | None = None
    ) -> None:
        """Deliver a reset link for the recovery ``value``, if it may get one.

        Nothing is sent without a recovery factor, over the budget, or for an absent or
        inactive account.

        Args:
            db: The database session.
            value: The recovery factor's value (address or phone number).
            redirect_to: Path to return to after the reset; dropped unless it is a
                same-site relative path.

        Raises:
            StoreUnavailableError: The rate-limit store is unreachable.
        """
        factor = self.repo.recovery
        if factor is None or await self._throttled(RESET_ACTION, value):
            return
        user = await self._load_active(db, factor, value)
        if user is None:
            return

        ttl = self.reset_ttl_hours
        token = self._mint(user, RESET, ttl, **{REDIRECT_CLAIM: _safe(redirect_to)})
        intent = DeliveryIntent(
            kind="reset_password",
            token=token,
            user=self.repo.to_dict(user),
            recipient=str(self.repo.get(user, factor)),
            expires_in=ttl * SECONDS_PER_HOUR,
        )
        await self._deliver(intent, db)

    async def check_email_change(self, user: Any, new_email: str, password: str) -> str:
        """Run the owner-facing checks of an email change and canonicalize the address.

        These errors only reach the signed-in owner, so they reveal nothing about other
        accounts.

        Args:
            user: The signed-in user's row.
            new_email: The requested address.
            password: The current password as typed.

        Returns:
            The canonical form of ``new_email``.

        Raises:
            BadRequestException: The password is wrong or the address is unchanged.
            ValueTooLongException: The address is longer than the email column.
            RuntimeError: The user model has no ``email`` column.
        """
        if not self.repo.has("email"):
            raise RuntimeError("Email change needs an 'email' column on the user model")
        stored = self.repo.get(user, "hashed_password")
        if not await self.passwords.verify_async(password, stored):
            raise BadRequestException(INCORRECT_PASSWORD)
        canonical = canonical_email(new_email)
        max_length = self.repo.exceeds_length("email", canonical)
        if max_length is not None:
            raise ValueTooLongException({"new_email": max_length})
        current = self.repo.get(user, "email")
        if current is not None and canonical_email(current) == canonical:
            raise BadRequestException(SAME_EMAIL)
        return canonical

    async def send_email_change(
        self, db: AsyncSession, user: Any, new_email: str, *, redirect_to: str | None = None
    ) -> None:
        """Deliver the confirmation link to ``new_email`` unless throttled or taken.

        Call it after ``check_email_change``. A taken address gets nothing, so the
        caller's response stays the same.

        Args:
            db: The database session.
            user: The signed-in user's row.
            new_email: The requested address.
            redirect_to: Path to return to after confirmation.

        Raises:
            StoreUnavailableError: The rate-limit store is unreachable.
        """
        new_email = canonical_email(new_email)
        if await self._throttled(CHANGE_ACTION, new_email):
            return
        # A taken address gets nothing, and the caller's response stays the same.
        if await self.repo.get_by_field(db, "email", new_email) is not None:
            return

        ttl = self.change_ttl_hours
        token = self._mint(
            user,
            CHANGE,
            ttl,
            **{NEW_EMAIL_CLAIM: new_email, REDIRECT_CLAIM: _safe(redirect_to)},
        )
        intent = DeliveryIntent(
            kind="change_email",
            token=token,
            user=self.repo.to_dict(user),
            recipient=new_email,
            expires_in=ttl * SECONDS_PER_HOUR,
        )
        await self._deliver(intent, db)

    async def request_email_change(
        self,
        db: AsyncSession,
        user: Any,
        new_email: str,
        password: str,
        *,
        redirect_to: str | None = None,
    ) -> None:
        """Check the request, then deliver the confirmation link to ``new_email``.

        Args:
            db: The database session.
            user: The signed-in user's row.
            new_email: The requested address.
            password: The current password as typed.
            redirect_to: Path to return to after confirmation.

        Raises:
            BadRequestException: The password is wrong or the address is unchanged.
            ValueTooLongException: The address is longer than the email column.
        """
        canonical = await self.check_email_change(user, new_email, password)
        await self.send_email_change(db, user, canonical, redirect_to=redirect_to)
