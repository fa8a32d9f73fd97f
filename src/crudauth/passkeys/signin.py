"""Signing in with a passkey, alone or as the second step of an MFA login."""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from crudauth.credentials import LOCKED_OUT
from crudauth.exceptions import (
    BadRequestException,
    ForbiddenException,
    RateLimitException,
    UnauthorizedException,
)
from crudauth.mfa.challenges import challenge_key
from crudauth.mfa.constants import INVALID_CHALLENGE as INVALID_MFA_CHALLENGE
from crudauth.mfa.schemas import MfaChallenge
from crudauth.passkeys.ceremony import credential_id_of, decode_base64url
from crudauth.passkeys.constants import (
    INVALID_CHALLENGE,
    LOGIN_TYPE,
    NO_PASSKEYS,
    PURPOSE_LOGIN,
    PURPOSE_MFA,
    SESSION_TRANSPORT_REQUIRED,
    UNKNOWN_PASSKEY,
    VERIFICATION_FAILED,
)
from crudauth.passkeys.storage import credential_key
from crudauth.passkeys.verification import ASSERTION_FIELDS, check_fields, verify_assertion
from crudauth.transports.login import CROSS_SITE_LOGIN
from crudauth.transports.session.constants import LOGIN_TYPE_META_KEY
from crudauth.utils.http import get_client_ip, is_cross_site

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.core import AuthRuntime, Transport
    from crudauth.passkeys.ceremony import Ceremonies
    from crudauth.passkeys.config import PasskeyConfig
    from crudauth.passkeys.schemas import StoredPasskey
    from crudauth.passkeys.storage import PasskeyStore
    from crudauth.repository import UserRepository

__all__ = ["PasskeySignIn"]

logger = logging.getLogger("crudauth.security")


class PasskeySignIn:
    """Sign-in ceremonies; ``PasskeyService`` supplies the state and the options."""

    runtime: AuthRuntime
    repo: UserRepository
    config: PasskeyConfig
    passkeys: PasskeyStore
    ceremonies: Ceremonies

    if TYPE_CHECKING:

        def _assertion_options(
            self, challenge: bytes, passkeys: list[StoredPasskey]
        ) -> dict[str, Any]: ...

    def _transport(self, name: str) -> Transport | None:
        return next((t for t in self.runtime.transports if t.name == name), None)

    async def _check_lockout(self, ip: str, identifier: str) -> None:
        lockout = self.runtime.lockout
        if lockout is None:
            return
        # Each passkey attempt counts as a login attempt, sharing the password lockout.
        allowed, _remaining, retry_after = await lockout.check_and_record(ip, identifier)
        if not allowed:
            logger.warning("passkey sign-in locked out retry_after=%s", retry_after)
            raise RateLimitException(LOCKED_OUT, retry_after=retry_after)

    async def sign_in(
        self,
        db: AsyncSession,
        credential: dict[str, Any],
        *,
        request: Request,
        response: Response,
    ) -> dict[str, Any]:
        """Verify a discoverable assertion and open a session for its owner.

        The new session replaces any session the request presented, and its
        ``login_type`` is ``"passkey"``. Each attempt counts in the shared login
        lockout under ``passkey:<account id>``.

        Args:
            db: The database session.
            credential: The ``PublicKeyCredential`` JSON the browser sent.
            request: The request with the binding cookie.
            response: The response that receives the session cookies.

        Returns:
            The session login body (``id``, ``username``, ``csrf_token``).

        Raises:
            BadRequestException: Malformed input or a bad challenge (400).
            UnauthorizedException: An unknown passkey or a failed proof (401).
            ForbiddenException: A cross-site request or a signature counter that
                went backwards (403).
            RateLimitException: The login lockout holds (429).
        """
        transport = self._transport("session")
        if transport is None:
            raise BadRequestException(SESSION_TRANSPORT_REQUIRED)
        # Blocks login CSRF, as on /login: a foreign site signing the visitor in.
        if is_cross_site(request):
            raise ForbiddenException(CROSS_SITE_LOGIN)

        credential_id = credential_id_of(credential)
        fields = check_fields(credential, ASSERTION_FIELDS)
        challenge, _ceremony = await self.ceremonies.consume(
            request, response, credential, PURPOSE_LOGIN
        )

        ip = get_client_ip(request, self.runtime.trusted_proxy_hops)
        account_id = await self.passkeys.owner_of(credential_id)
        identifier = f"passkey:{account_id or credential_key(credential_id)}"
        await self._check_lockout(ip, identifier)
        record = await self.passkeys.for_user(account_id) if account_id else None
        passkey = await self.passkeys.find(account_id, credential_id) if account_id else None
        if record is None or passkey is None:
            logger.warning("passkey sign-in with an unknown credential")
            raise UnauthorizedException(UNKNOWN_PASSKEY)

        user_handle = fields.get("userHandle")
        # The authenticator's user handle must name the credential's owner: a key
        # registered by one account never signs in as another.
        if user_handle is not None and not hmac.compare_digest(
            decode_base64url(user_handle), decode_base64url(record.user_handle)
        ):
            logger.warning("passkey user handle mismatch account_id=%s", account_id)
            raise UnauthorizedException(VERIFICATION_FAILED)

        verified = await verify_assertion(
            self.runtime,
            self.config,
            credential=credential,
            challenge=challenge,
            passkey=passkey,
            account_id=record.account_id,
            request=request,
        )
        user = await self.repo.get_by_id(db, record.account_id)
        if user is None or not self.repo.is_active(user):
            raise UnauthorizedException(VERIFICATION_FAILED)

        await self.passkeys.record_use(record.account_id, credential_id, verified.new_sign_count)
        await self.runtime.record_login_success(ip, identifier)
        options = {"metadata": {LOGIN_TYPE_META_KEY: LOGIN_TYPE}}
        return await transport.complete_login(request, response, user, options)

    # -- the second factor -------------------------------------------------------------

    async def _mfa_record(self, token: str) -> tuple[str, MfaChallenge]:
        mfa = self.runtime.mfa
        if mfa is None or not token:
            raise BadRequestException(INVALID_MFA_CHALLENGE)
        key = challenge_key(token)
        record = await mfa.challenges.get(key, MfaChallenge)
        if record is None:
            raise BadRequestException(INVALID_MFA_CHALLENGE)
        return key, record

    async def mfa_options(self, token: str, response: Response) -> dict[str, Any]:
        """Start the passkey step of an MFA login, allowing the user's own passkeys.

        Args:
            token: The MFA challenge token from the password step.
            response: The response that sets the binding cookie.

        Returns:
            The ``PublicKeyCredentialRequestOptions`` as JSON.

        Raises:
            BadRequestException: The MFA challenge is unknown or expired, MFA is not
                configured, or the account has no passkeys.
        """
        key, record = await self._mfa_record(token)
        stored = await self.passkeys.for_user(record.account_id)
        if stored is None or not stored.passkeys:
            raise BadRequestException(NO_PASSKEYS)
        challenge = await self.ceremonies.issue(
            response, PURPOSE_MFA, account_id=record.account_id, mfa_key=key
        )
        return self._assertion_options(challenge, stored.passkeys)

    async def complete_mfa(
        self,
        db: AsyncSession,
        token: str,
        credential: dict[str, Any],
        *,
        request: Request,
        response: Response,
    ) -> dict[str, Any]:
        """Finish an MFA login with a user-verified passkey assertion.

        Args:
            db: The database session.
            token: The MFA challenge token from the password step.
            credential: The ``PublicKeyCredential`` JSON the browser sent.
            request: The request with the binding cookie.
            response: The response that receives the transport's cookies.

        Returns:
            What ``POST /mfa/verify`` returns for the challenge's transport, plus
            ``redirect_to`` when the challenge carried one.

        Raises:
            BadRequestException: A bad or stale challenge (400).
            UnauthorizedException: A passkey that is not the account's or does not
                verify (401).
            ForbiddenException: A cross-site request or a counter that went
                backwards (403).
            RateLimitException: The login lockout holds (429).
        """
        credential_id = credential_id_of(credential)
        check_fields(credential, ASSERTION_FIELDS)
        challenge, ceremony = await self.ceremonies.consume(
            request, response, credential, PURPOSE_MFA
        )
        key, record = await self._mfa_record(token)
        # The passkey step completes only the MFA challenge its options were made for.
        if ceremony.mfa_key is None or not hmac.compare_digest(ceremony.mfa_key, key):
            raise BadRequestException(INVALID_CHALLENGE)
        transport = self._transport(record.transport)
        if transport is None:
            raise BadRequestException(INVALID_MFA_CHALLENGE)
        # Blocks login CSRF, as on /mfa/verify.
        if transport.sets_cookies and is_cross_site(request):
            raise ForbiddenException(CROSS_SITE_LOGIN)

        await self._check_lockout(record.ip_address or "", record.lockout_identifier)
        # Only the challenged account's own passkeys can complete its login.
        passkey = await self.passkeys.find(record.account_id, credential_id)
        if passkey is None:
            logger.warning("passkey MFA step with another credential user_id=%s", record.account_id)
            raise UnauthorizedException(UNKNOWN_PASSKEY)
        verified = await verify_assertion(
            self.runtime,
            self.config,
            credential=credential,
            challenge=challenge,
            passkey=passkey,
            account_id=record.account_id,
            request=request,
        )

        mfa = self.runtime.mfa
        user = await self.repo.get_by_id(db, record.account_id)
        # A password reset or change since the password step voids the challenge.
        if (
            user is None
            or not self.repo.is_active(user)
            or self.repo.token_version(user) != record.token_version
        ):
            await mfa.challenges.delete(key)
            raise BadRequestException(INVALID_MFA_CHALLENGE)
        # Consuming atomically makes the MFA challenge single-use even under a race.
        if await mfa.challenges.get_and_delete(key, MfaChallenge) is None:
            raise BadRequestException(INVALID_MFA_CHALLENGE)

        await self.passkeys.record_use(record.account_id, credential_id, verified.new_sign_count)
        await self.runtime.record_login_success(record.ip_address or "", record.lockout_identifier)
        body: dict[str, Any] = await transport.complete_login(
            request, response, user, dict(record.options)
        )
        redirect_to = record.options.get("redirect_to")
        if redirect_to:
            body["redirect_to"] = redirect_to
        return body
