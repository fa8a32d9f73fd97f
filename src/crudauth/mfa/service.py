"""``MfaService``: TOTP enrolment and verification, recovery codes, login challenges.

State readers and code checks live here. Enrolment is in ``enrolment`` and the
two-step login is in ``challenges``.
"""

from __future__ import annotations

import hmac
import inspect
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from crudauth.hooks import HookContext
from crudauth.mfa.challenges import MfaChallenges
from crudauth.mfa.cipher import SecretCipher
from crudauth.mfa.config import MfaConfig
from crudauth.mfa.constants import INVALID_CHALLENGE as INVALID_CHALLENGE
from crudauth.mfa.enrolment import MfaEnrolment
from crudauth.mfa.recovery import dump_hashes, hash_recovery_code, load_hashes
from crudauth.mfa.totp import matching_step, normalize_code, provisioning_uri
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


class MfaService(MfaEnrolment, MfaChallenges):
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
