"""Linking provider profiles to local accounts, and creating accounts from them."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from crudauth.exceptions import OAuthAccountException
from crudauth.oauth.constants import (
    ACCOUNT_INACTIVE,
    EMAIL_MISSING,
    EMAIL_TOO_LONG,
    EMAIL_UNVERIFIED,
    PROVIDER_ALREADY_LINKED,
)
from crudauth.oauth.schemas import OAuthUserInfo
from crudauth.oauth.usernames import (
    random_suffixed,
    sanitize_username,
    unique_username,
    username_candidate,
)
from crudauth.provisioning import NewUserContext, NewUserFields, resolve_new_user_fields
from crudauth.revocation import end_user_credentials
from crudauth.utils.hashing import make_unusable_password
from crudauth.utils.identifiers import canonical_email

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.repository import UserRepository
    from crudauth.transports.session import SessionManager

__all__ = ["OAuthAccountService"]

logger = logging.getLogger("crudauth.oauth")

REASON_ACCOUNT_CLAIMED = "oauth_account_claimed"
# Columns wiped when a verified provider email claims an unverified local account.
MFA_COLUMNS = ("totp_secret_encrypted", "totp_confirmed_at", "totp_last_step", "mfa_recovery_codes")

_DETAILS = {
    EMAIL_MISSING: "The {provider} account did not provide an email address.",
    EMAIL_UNVERIFIED: (
        "The email address of the {provider} account is not verified; verify it with "
        "{provider} and try again."
    ),
    EMAIL_TOO_LONG: "The email address is longer than {limit} characters.",
    PROVIDER_ALREADY_LINKED: ("This account is already linked to a different {provider} account."),
    ACCOUNT_INACTIVE: "This account is disabled.",
}


def _refusal(code: str, **values: Any) -> OAuthAccountException:
    return OAuthAccountException(code, _DETAILS[code].format(**values))


def _now() -> datetime:
    return datetime.now(timezone.utc)


class OAuthAccountService:
    """Resolve a provider profile to a local account by rules that resist takeover.

    Order: the provider's own id first; then only a verified provider email may link
    to the account with that email or create a new one. Linking to an account whose
    email was never verified *claims* it: whoever registered the address first loses
    the password, MFA and every session, because they never proved the address.
    ``CRUDAuth`` builds one when ``oauth=`` is set.

    Args:
        repo: The user repository.
        new_user_fields: Callback that returns server-set fields for a new account.
        new_user_defaults: Fixed values for every new account.
        session_manager: Ends the sessions of a claimed account when no runtime is
            set.
    """

    def __init__(
        self,
        repo: UserRepository,
        new_user_fields: NewUserFields | None = None,
        new_user_defaults: dict[str, Any] | None = None,
        *,
        session_manager: SessionManager | None = None,
    ) -> None:
        self.repo = repo
        self.new_user_fields = new_user_fields
        self.new_user_defaults: dict[str, Any] = dict(new_user_defaults or {})
        self.session_manager = session_manager
        # Set by the facade: ending credentials covers token families through it.
        self.runtime: Any = None

    async def get_or_create_user(self, info: OAuthUserInfo, db: AsyncSession) -> tuple[Any, bool]:
        """Find, link or create the account of a provider profile.

        Args:
            info: The normalized provider profile.
            db: The database session.

        Returns:
            ``(user, created)``, where ``created`` is true for a new account.

        Raises:
            OAuthAccountException: ``account_inactive``, ``email_missing``,
                ``email_unverified``, ``provider_already_linked`` or ``email_too_long``.
        """
        repo = self.repo
        provider = info.provider
        linked = await repo.get_by_oauth(db, provider, info.provider_user_id)
        if linked is not None:
            if not repo.is_active(linked):
                raise _refusal(ACCOUNT_INACTIVE)
            return linked, False

        if not info.email:
            raise _refusal(EMAIL_MISSING, provider=provider)
        # An unverified provider email proves nothing: linking on it would hand any
        # account to whoever typed that address at the provider.
        if not info.email_verified:
            raise _refusal(EMAIL_UNVERIFIED, provider=provider)

        email = canonical_email(info.email)
        existing = await repo.get_by_email(db, email)
        if existing is not None:
            return await self._link(db, existing, info), False

        limit = repo.exceeds_length("email", email)
        if limit is not None:
            raise _refusal(EMAIL_TOO_LONG, limit=limit)
        return await self._create(db, info, email), True

    async def _link(self, db: AsyncSession, user: Any, info: OAuthUserInfo) -> Any:
        repo = self.repo
        provider = info.provider
        id_field = f"{provider}_id"
        if not repo.is_active(user):
            raise _refusal(ACCOUNT_INACTIVE)
        current = repo.get(user, id_field)
        if current is not None and current != info.provider_user_id:
            raise _refusal(PROVIDER_ALREADY_LINKED, provider=provider)

        claim = not repo.email_verified(user)
        values: dict[str, Any] = {
            id_field: info.provider_user_id,
            "oauth_provider": provider,
            "oauth_updated_at": _now(),
        }
        if claim:
            values.update(
                {
                    "hashed_password": make_unusable_password(),
                    "email_verified": True,
                    **{column: None for column in MFA_COLUMNS if repo.has(column)},
                }
            )
        # Compare-and-set: a concurrent link or verification makes this write miss
        # instead of overwriting what the other request decided.
        expected = {id_field: None, "email_verified": repo.email_verified(user)}
        if not repo.has("email_verified"):
            expected.pop("email_verified")
        try:
            written = await repo.update_if_unchanged(db, user, expected, values)
        except IntegrityError:
            # The provider id was linked to another row meanwhile.
            await db.rollback()
            raise _refusal(PROVIDER_ALREADY_LINKED, provider=provider) from None
        if not written:
            # The missed write already reloaded the row; a same-id link is a success.
            if repo.get(user, id_field) == info.provider_user_id:
                return user
            raise _refusal(PROVIDER_ALREADY_LINKED, provider=provider)

        if claim:
            await self._evict_credentials(db, user)
        logger.info(
            "OAuth account linked user_id=%s provider=%s claimed=%s",
            repo.user_id(user),
            provider,
            claim,
        )
        return user

    async def _evict_credentials(self, db: AsyncSession, user: Any) -> None:
        """End every bearer token and session of a claimed account."""
        user = await self.repo.increment_token_version(db, user)
        if self.runtime is not None:
            await end_user_credentials(
                self.runtime, self.repo.user_id(user), reason=REASON_ACCOUNT_CLAIMED
            )
        elif self.session_manager is not None:
            await self.session_manager.terminate_all_user_sessions(
                self.repo.user_id(user), reason=REASON_ACCOUNT_CLAIMED
            )

    async def _create(self, db: AsyncSession, info: OAuthUserInfo, email: str) -> Any:
        repo = self.repo
        max_length = repo.string_length("username")
        username = ""
        if repo.has("username"):
            base = sanitize_username(username_candidate(info), max_length)
            username = await unique_username(
                base, lambda name: repo.username_exists(db, name), max_length
            )

        now = _now()
        values: dict[str, Any] = {
            "email": email,
            "hashed_password": make_unusable_password(),
            "email_verified": True,
            "oauth_provider": info.provider,
            f"{info.provider}_id": info.provider_user_id,
            "oauth_created_at": now,
            "oauth_updated_at": now,
            **self.new_user_defaults,
        }
        context = NewUserContext(
            email=email, username=username, source="oauth", db=db, register_data=None, oauth=info
        )
        values.update(await resolve_new_user_fields(self.new_user_fields, context, repo))
        if username:
            values["username"] = username
        try:
            user = await repo.create(db, values)
        except IntegrityError:
            # Most likely a concurrent signup took the username: retry once with a
            # random suffix. A second failure propagates.
            await db.rollback()
            if not username:
                raise
            values["username"] = random_suffixed(username, max_length)
            user = await repo.create(db, values)
        logger.info(
            "OAuth account created user_id=%s provider=%s", repo.user_id(user), info.provider
        )
        return user
