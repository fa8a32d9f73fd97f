"""``MfaService``: TOTP enrolment and verification, recovery codes, login challenges.

Enrolment and code checks live here; the two-step login is in ``challenges``.
"""

from __future__ import annotations

import hmac
import inspect
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from crudauth.exceptions import BadRequestException, UnauthorizedException
from crudauth.hooks import HookContext
from crudauth.mfa.challenges import MfaChallenges
from crudauth.mfa.cipher import SecretCipher
from crudauth.mfa.config import MfaConfig
from crudauth.mfa.constants import ALREADY_ENABLED, INVALID_CODE, NO_PENDING_SETUP, NOT_ENABLED
from crudauth.mfa.constants import INVALID_CHALLENGE as INVALID_CHALLENGE
from crudauth.mfa.recovery import (
    dump_hashes,
    generate_recovery_codes,
    hash_recovery_code,
    hash_recovery_codes,
    load_hashes,
)
from crudauth.mfa.totp import generate_secret, matching_step, normalize_code, provisioning_uri
from crudauth.security_log import SecurityEventType, record_security_event
from crudauth.storage.base import AbstractSessionStorage

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.core import AuthRuntime

__all__ = ["MfaService"]

logger = logging.getLogger("crudauth.mfa")

# Compare-and-set tries when consuming a recovery code races with another change.
RECOVERY_CODE_CLAIM_ATTEMPTS = 3


# Hook name -> the security-log event written with it.
_SECURITY_EVENTS = {
    "on_after_mfa_enabled": SecurityEventType.MFA_ENABLED,
    "on_after_mfa_disabled": SecurityEventType.MFA_DISABLED,
    "on_after_recovery_code_used": SecurityEventType.RECOVERY_CODE_USED,
}


class MfaService(MfaChallenges):
    """TOTP second factor: enrolment, code checks, recovery codes and login challenges.

    ``auth.mfa`` is the wired instance. ``clock`` returns Unix seconds, and tests
    replace it to freeze time. Every method taking ``db`` commits its writes eagerly.

    Args:
        runtime: The facade's shared state.
        config: The MFA settings.
        challenge_store: Storage of pending two-step logins.

    Raises:
        ValueError: An encryption key is not a valid Fernet key.
        ImportError: ``cryptography`` is not installed.

    Example:
        ```python
        @app.post("/admin/users/{user_id}/mfa/reset")
        async def reset_mfa(user_id: int, db: AsyncSession = Depends(get_db)):
            user = await auth.repo.get_by_id(db, user_id)
            await auth.mfa.disable(db, user)
        ```
    """

    def __init__(
        self,
        *,
        runtime: AuthRuntime,
        config: MfaConfig,
        challenge_store: AbstractSessionStorage[Any],
    ) -> None:
        self.runtime = runtime
        self.repo = runtime.repo
        self.hooks = runtime.hooks
        self.config = config
        self.challenges = challenge_store
        self.cipher = SecretCipher(config.encryption_keys)
        self.clock: Callable[[], float] = time.time

    # -- state readers -----------------------------------------------------------------

    def is_enrolled(self, user: Any) -> bool:
        """Return whether enrolment was confirmed and a secret is stored.

        Args:
            user: The user row.
        """
        return bool(
            self.repo.get(user, "totp_confirmed_at") is not None
            and self.repo.get(user, "totp_secret_encrypted")
        )

    async def is_required(self, user: Any) -> bool:
        """Return ``config.required`` for ``user``, awaiting a predicate if needed.

        Args:
            user: The user row.
        """
        required = self.config.required
        if isinstance(required, bool):
            return required
        outcome = required(user)
        if inspect.isawaitable(outcome):
            outcome = await outcome
        return bool(outcome)

    def recovery_codes_remaining(self, user: Any) -> int:
        """Return how many unused recovery codes the account has.

        Args:
            user: The user row.
        """
        return len(load_hashes(self.repo.get(user, "mfa_recovery_codes")))

    async def status(self, user: Any) -> dict[str, Any]:
        """Return the ``GET /mfa`` body: enabled, required, recovery codes remaining.

        Args:
            user: The user row.
        """
        return {
            "enabled": self.is_enrolled(user),
            "required": await self.is_required(user),
            "recovery_codes_remaining": self.recovery_codes_remaining(user),
        }

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc)

    def _decrypt(self, user: Any) -> str | None:
        token = self.repo.get(user, "totp_secret_encrypted")
        if not token:
            return None
        plaintext = self.cipher.decrypt(token)
        if plaintext is None:
            # Fails closed: no code is accepted until the account enrols again.
            logger.error(
                "stored TOTP secret cannot be decrypted (tampered or unknown key) user_id=%s",
                self.repo.user_id(user),
            )
        return plaintext

    def confirmed_secret(self, user: Any) -> str | None:
        """Return the secret of an enrolled account, or ``None``.

        ``None`` is also returned, and logged, when the stored secret cannot be
        decrypted.

        Args:
            user: The user row.
        """
        if not self.is_enrolled(user):
            return None
        return self._decrypt(user)

    def pending_secret(self, user: Any) -> str | None:
        """Return the unconfirmed secret while it is still valid, else ``None``.

        A pending secret embeds the ``token_version`` it was made under, so a password
        reset or change voids it: whoever saw it cannot have it confirmed afterwards.

        Args:
            user: The user row.
        """
        if self.repo.get(user, "totp_confirmed_at") is not None:
            return None
        plaintext = self._decrypt(user)
        if plaintext is None:
            return None
        version, separator, secret = plaintext.partition(":")
        if not separator or version != str(self.repo.token_version(user)):
            return None
        return secret

    def setup_details(self, user: Any, secret: str) -> dict[str, str]:
        """Return ``{"secret", "otpauth_uri"}`` for an authenticator app.

        The URI's account name is the email, else the username, else the user id.

        Args:
            user: The user row.
            secret: The base32 secret.
        """
        account = (
            self.repo.get(user, "email")
            or self.repo.get(user, "username")
            or str(self.repo.user_id(user))
        )
        uri = provisioning_uri(secret, issuer=self.config.issuer, account=str(account))
        return {"secret": secret, "otpauth_uri": uri}

    # -- code checks -------------------------------------------------------------------

    async def _accept_totp(self, db: AsyncSession, user: Any, secret: str, code: str) -> bool:
        step = matching_step(secret, code, self.clock())
        if step is None:
            return False
        # Claiming the step in one conditional UPDATE stops replay, even concurrent.
        return await self.repo.claim_totp_step(db, user, step)

    async def verify_totp(self, db: AsyncSession, user: Any, code: str) -> bool:
        """Accept an enrolled account's authenticator code, at most once per step.

        Args:
            db: The database session.
            user: The user row.
            code: The six-digit code as typed.

        Returns:
            Whether the code matched a step that was not used before.
        """
        secret = self.confirmed_secret(user)
        if secret is None:
            return False
        return await self._accept_totp(db, user, secret, code)

    async def verify_code(
        self, db: AsyncSession, user: Any, code: str, *, context: HookContext | None = None
    ) -> bool:
        """Accept an authenticator code, or else a recovery code (which is consumed).

        Input that looks like six digits is checked as an authenticator code only.

        Args:
            db: The database session.
            user: The user row.
            code: The code as typed.
            context: Request data passed to the recovery-code hook.

        Returns:
            Whether the code was accepted.
        """
        if normalize_code(code) is not None:
            return await self.verify_totp(db, user, code)
        return await self.use_recovery_code(db, user, code, context=context)

    async def use_recovery_code(
        self, db: AsyncSession, user: Any, code: str, *, context: HookContext | None = None
    ) -> bool:
        """Consume one recovery code of an enrolled account; return whether it matched.

        The code is removed by a compare-and-set on the stored list, so under
        concurrency exactly one request can use it. Fires
        ``on_after_recovery_code_used`` and writes a security-log event.

        Args:
            db: The database session.
            user: The user row.
            code: The recovery code as typed; case, spaces and hyphens are ignored.
            context: Request data passed to the hook.

        Returns:
            ``True`` when the code matched and was consumed. ``False`` for a wrong
            code, an account without MFA, or three lost races in a row.
        """
        # A secret that no configured key decrypts fails every code closed, these too.
        if self.confirmed_secret(user) is None:
            return False
        candidate = hash_recovery_code(code)
        for _attempt in range(RECOVERY_CODE_CLAIM_ATTEMPTS):
            stored = self.repo.get(user, "mfa_recovery_codes")
            hashes = load_hashes(stored)
            matched: int | None = None
            for position, digest in enumerate(hashes):
                # Every digest is compared, so timing does not show which one matched.
                if hmac.compare_digest(digest, candidate) and matched is None:
                    matched = position
            if matched is None:
                return False
            remaining = hashes[:matched] + hashes[matched + 1 :]
            if await self.repo.update_if_unchanged(
                db,
                user,
                {"mfa_recovery_codes": stored},
                {"mfa_recovery_codes": dump_hashes(remaining)},
            ):
                logger.warning(
                    "recovery code used user_id=%s remaining=%s",
                    self.repo.user_id(user),
                    len(remaining),
                )
                await self._fire("on_after_recovery_code_used", db, user, context)
                return True
            # Another request changed the list first; the row was reloaded, try again.
        logger.warning(
            "recovery code not consumed after %s contended tries user_id=%s",
            RECOVERY_CODE_CLAIM_ATTEMPTS,
            self.repo.user_id(user),
        )
        return False

    # -- enrolment ---------------------------------------------------------------------

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

    async def _fire(
        self, name: str, db: AsyncSession, user: Any, context: HookContext | None
    ) -> Any:
        """Fire a hook that gets ``db``; roll back only its own work when it raised.

        The change is written to the security log first.
        """
        event_type = _SECURITY_EVENTS.get(name)
        if event_type is not None:
            await record_security_event(self.runtime, self.repo.user_id(user), event_type)
        if not await self.hooks.fire(
            name, self.repo.to_dict(user), db=db, context=context or HookContext()
        ):
            await db.rollback()
            user = await self.repo.refresh_if_expired(db, user)
        return user
