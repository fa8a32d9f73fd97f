"""Enrolment: the pending secret, confirmation, disabling and new recovery codes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from crudauth.exceptions import BadRequestException, UnauthorizedException
from crudauth.hooks import HookContext
from crudauth.mfa.cipher import SecretCipher
from crudauth.mfa.config import MfaConfig
from crudauth.mfa.constants import ALREADY_ENABLED, INVALID_CODE, NO_PENDING_SETUP, NOT_ENABLED
from crudauth.mfa.recovery import dump_hashes, generate_recovery_codes, hash_recovery_codes
from crudauth.mfa.totp import generate_secret

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.repository import UserRepository

__all__ = ["MfaEnrolment"]

logger = logging.getLogger("crudauth.mfa")


class MfaEnrolment:
    """Enrolment, mixed into ``MfaService``, which supplies the code checks."""

    repo: UserRepository
    config: MfaConfig
    cipher: SecretCipher

    if TYPE_CHECKING:
        # Provided by MfaService.
        def is_enrolled(self, user: Any) -> bool: ...

        def pending_secret(self, user: Any) -> str | None: ...

        def setup_details(self, user: Any, secret: str) -> dict[str, str]: ...

        def _now(self) -> datetime: ...

        async def _accept_totp(
            self, db: AsyncSession, user: Any, secret: str, code: str
        ) -> bool: ...

        async def _fire(
            self, name: str, db: AsyncSession, user: Any, context: HookContext | None
        ) -> Any: ...

    async def store_pending_secret(self, db: AsyncSession, user: Any, secret: str) -> None:
        """Store ``secret`` as pending, clearing the other MFA columns.

        Args:
            db: The database session.
            user: The user row.
            secret: The new base32 secret.

        Raises:
            BadRequestException: The account became enrolled meanwhile, because an
                enabled authenticator is never overwritten by a new setup.
        """
        version = self.repo.token_version(user)
        stored = await self.repo.update_if_unchanged(
            db,
            user,
            {"totp_confirmed_at": None},
            {
                "totp_secret_encrypted": self.cipher.encrypt(f"{version}:{secret}"),
                "totp_confirmed_at": None,
                "totp_last_step": None,
                "mfa_recovery_codes": None,
            },
        )
        if not stored:
            raise BadRequestException(ALREADY_ENABLED)

    async def begin_setup(self, db: AsyncSession, user: Any) -> dict[str, str]:
        """Start enrolment with a new pending secret.

        Args:
            db: The database session.
            user: The user row.

        Returns:
            ``{"secret", "otpauth_uri"}`` for the authenticator app.

        Raises:
            BadRequestException: MFA is already enabled.
        """
        if self.is_enrolled(user):
            raise BadRequestException(ALREADY_ENABLED)
        secret = generate_secret()
        await self.store_pending_secret(db, user, secret)
        return self.setup_details(user, secret)

    async def confirm_setup(
        self, db: AsyncSession, user: Any, code: str, *, context: HookContext | None = None
    ) -> list[str]:
        """Enable MFA with a code of the pending secret.

        Args:
            db: The database session.
            user: The user row.
            code: A code from the authenticator app.
            context: Request data passed to ``on_after_mfa_enabled``.

        Returns:
            The new plain recovery codes, shown once.

        Raises:
            BadRequestException: MFA is already enabled or no setup is pending.
            UnauthorizedException: The code is wrong.
        """
        if self.is_enrolled(user):
            raise BadRequestException(ALREADY_ENABLED)
        secret = self.pending_secret(user)
        if secret is None:
            raise BadRequestException(NO_PENDING_SETUP)
        pending = self.repo.get(user, "totp_secret_encrypted")
        if not await self._accept_totp(db, user, secret, code):
            raise UnauthorizedException(INVALID_CODE)
        return await self.enable(db, user, secret, pending, context=context)

    async def enable(
        self,
        db: AsyncSession,
        user: Any,
        secret: str,
        pending: str,
        *,
        context: HookContext | None = None,
    ) -> list[str]:
        """Turn the proven pending secret into the enrolled one; return recovery codes.

        A compare-and-set on the pending ciphertext and a null ``totp_confirmed_at``,
        so of two concurrent confirmations exactly one wins. Fires
        ``on_after_mfa_enabled``.

        Args:
            db: The database session.
            user: The user row.
            secret: The proven base32 secret.
            pending: The pending secret's stored ciphertext, as read before the check.
            context: Request data passed to the hook.

        Returns:
            The new plain recovery codes.

        Raises:
            BadRequestException: Another request enabled MFA or replaced the pending
                secret first.
        """
        codes = generate_recovery_codes(self.config.recovery_code_count)
        enabled = await self.repo.update_if_unchanged(
            db,
            user,
            {"totp_confirmed_at": None, "totp_secret_encrypted": pending},
            {
                "totp_secret_encrypted": self.cipher.encrypt(secret),
                "totp_confirmed_at": self._now(),
                "mfa_recovery_codes": dump_hashes(hash_recovery_codes(codes)),
            },
        )
        if not enabled:
            raise BadRequestException(
                ALREADY_ENABLED if self.is_enrolled(user) else NO_PENDING_SETUP
            )
        logger.info("two-factor authentication enabled user_id=%s", self.repo.user_id(user))
        await self._fire("on_after_mfa_enabled", db, user, context)
        return codes

    async def disable(
        self, db: AsyncSession, user: Any, *, context: HookContext | None = None
    ) -> Any:
        """Clear the four MFA columns and fire ``on_after_mfa_disabled``; no code check.

        Suitable for admin resets. The ``/mfa/totp/disable`` route checks a code
        first.

        Args:
            db: The database session.
            user: The user row.
            context: Request data passed to the hook.

        Returns:
            The updated user row.
        """
        user = await self.repo.update(
            db,
            user,
            {
                "totp_secret_encrypted": None,
                "totp_confirmed_at": None,
                "totp_last_step": None,
                "mfa_recovery_codes": None,
            },
        )
        logger.warning("two-factor authentication disabled user_id=%s", self.repo.user_id(user))
        return await self._fire("on_after_mfa_disabled", db, user, context)

    async def regenerate_recovery_codes(self, db: AsyncSession, user: Any) -> list[str]:
        """Replace every recovery code.

        Args:
            db: The database session.
            user: The user row.

        Returns:
            The new plain codes, shown once.

        Raises:
            BadRequestException: MFA is not enabled.
        """
        if not self.is_enrolled(user):
            raise BadRequestException(NOT_ENABLED)
        codes = generate_recovery_codes(self.config.recovery_code_count)
        await self.repo.update(
            db, user, {"mfa_recovery_codes": dump_hashes(hash_recovery_codes(codes))}
        )
        return codes
