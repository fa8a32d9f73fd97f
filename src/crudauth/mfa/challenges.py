"""The two-step login: start a challenge after the password, finish it with a code."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
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
from crudauth.hooks import HookContext
from crudauth.mfa.config import MfaConfig
from crudauth.mfa.constants import CHALLENGE_TOKEN_BYTES, INVALID_CHALLENGE, INVALID_CODE
from crudauth.mfa.schemas import MfaChallenge
from crudauth.mfa.totp import generate_secret
from crudauth.storage.base import AbstractSessionStorage
from crudauth.transports.login import CROSS_SITE_LOGIN
from crudauth.utils.http import get_client_ip, is_cross_site

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.core import AuthRuntime, Transport
    from crudauth.repository import UserRepository

__all__ = ["MfaChallenges", "challenge_key"]

logger = logging.getLogger("crudauth.security")

# Largest challenge token accepted; a real one is 43 characters.
MAX_CHALLENGE_LENGTH = 256


def challenge_key(token: str) -> str:
    """Return the storage key of a challenge token: its SHA-256 hex, never the token.

    Args:
        token: The challenge token the client holds.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class MfaChallenges:
    """Login challenges, mixed into ``MfaService``, which supplies the code checks."""

    runtime: AuthRuntime
    repo: UserRepository
    config: MfaConfig
    challenges: AbstractSessionStorage[Any]
    clock: Callable[[], float]

    if TYPE_CHECKING:
        # Provided by MfaService.
        def is_enrolled(self, user: Any) -> bool: ...

        async def is_required(self, user: Any) -> bool: ...

        def pending_secret(self, user: Any) -> str | None: ...

        def setup_details(self, user: Any, secret: str) -> dict[str, str]: ...

        async def store_pending_secret(self, db: AsyncSession, user: Any, secret: str) -> None: ...

        async def verify_code(
            self, db: AsyncSession, user: Any, code: str, *, context: HookContext | None = None
        ) -> bool: ...

        async def _accept_totp(
            self, db: AsyncSession, user: Any, secret: str, code: str
        ) -> bool: ...

        async def enable(
            self,
            db: AsyncSession,
            user: Any,
            secret: str,
            pending: str,
            *,
            context: HookContext | None = None,
        ) -> list[str]: ...

    # -- starting a challenge ----------------------------------------------------------

    async def challenge_login(
        self,
        db: AsyncSession,
        user: Any,
        *,
        request: Request,
        transport: str,
        lockout_identifier: str,
        options: dict[str, Any],
    ) -> dict[str, Any] | None:
        """Start the second step of a login whose password (or provider) was verified.

        No credential exists until ``POST /mfa/verify`` proves the code.

        Args:
            db: The database session.
            user: The user row.
            request: The login request.
            transport: Name of the transport that issues the credential afterwards.
            lockout_identifier: The login identifier as typed, for the shared lockout.
            options: What the transport needs to finish (``remember_me``, scopes,
                metadata, ``redirect_to``).

        Returns:
            ``None`` when the account neither uses nor must use MFA. The lockout
            pressure for this IP and identifier is then already cleared and the caller
            completes the login itself. Otherwise the stored challenge as
            ``{"mfa_required": true, "challenge", "expires_in"}``, plus ``"setup"``
            with a secret and URI when a required account enrols during this login.

        Raises:
            StoreUnavailableError: The challenge store is unreachable.
        """
        ip = get_client_ip(request, self.runtime.trusted_proxy_hops)
        enrolled = self.is_enrolled(user)
        if not enrolled and not await self.is_required(user):
            await self.runtime.record_login_success(ip, lockout_identifier)
            return None

        setup: dict[str, str] | None = None
        if not enrolled:
            # A retry reuses the pending secret: an app scanned on the first try works.
            secret = self.pending_secret(user)
            if secret is None:
                secret = generate_secret()
                await self.store_pending_secret(db, user, secret)
            setup = self.setup_details(user, secret)

        token = secrets.token_urlsafe(CHALLENGE_TOKEN_BYTES)
        record = MfaChallenge(
            account_id=str(self.repo.user_id(user)),
            token_version=self.repo.token_version(user),
            transport=transport,
            setup=not enrolled,
            lockout_identifier=lockout_identifier,
            ip_address=ip,
            options=dict(options),
        )
        ttl = self.config.challenge_ttl_seconds
        await self.challenges.create(record, session_id=challenge_key(token), expiration=ttl)
        body: dict[str, Any] = {"mfa_required": True, "challenge": token, "expires_in": ttl}
        if setup is not None:
            body["setup"] = setup
        return body

    async def challenge_oauth_login(
        self,
        db: AsyncSession,
        user: Any,
        *,
        request: Request,
        transport: str = "session",
        redirect_to: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Start the second step of an OAuth sign-in; the OAuth callback calls this.

        The challenge body is sent as JSON, or as a redirect to
        ``<landing>#mfa_challenge=<challenge>``. ``POST /mfa/verify`` then finishes
        the login through ``transport`` with these ``metadata`` and returns
        ``redirect_to``. The lockout identifier is ``oauth:<user id>``.

        Args:
            db: The database session.
            user: The user row.
            request: The callback request.
            transport: Name of the transport that issues the credential afterwards.
            redirect_to: Where the browser goes after the code is proven.
            metadata: Session metadata, such as the provider name.

        Returns:
            ``None`` when ``MfaConfig.oauth`` is off or the account needs no second
            factor, so the callback signs the user in itself. Otherwise the challenge
            body of ``challenge_login``.
        """
        if not self.config.oauth:
            return None
        options: dict[str, Any] = {"metadata": dict(metadata or {})}
        if redirect_to is not None:
            options["redirect_to"] = redirect_to
        return await self.challenge_login(
            db,
            user,
            request=request,
            transport=transport,
            lockout_identifier=f"oauth:{self.repo.user_id(user)}",
            options=options,
        )

    # -- reading and finishing a challenge ---------------------------------------------

    async def _load(self, token: str) -> tuple[str, MfaChallenge]:
        if not token or len(token) > MAX_CHALLENGE_LENGTH:
            raise BadRequestException(INVALID_CHALLENGE)
        key = challenge_key(token)
        record = await self.challenges.get(key, MfaChallenge)
        if record is None:
            raise BadRequestException(INVALID_CHALLENGE)
        return key, record

    async def describe_challenge(self, db: AsyncSession, token: str) -> dict[str, Any]:
        """Return ``{"setup": {"secret", "otpauth_uri"} | None}``; not an attempt.

        ``setup`` is set only for a challenge that enrols the account.

        Args:
            db: The database session.
            token: The challenge token.

        Raises:
            BadRequestException: The challenge is unknown or expired, or its account
                is gone or inactive.
        """
        _key, record = await self._load(token)
        user = await self.repo.get_by_id(db, record.account_id)
        if user is None or not self.repo.is_active(user):
            raise BadRequestException(INVALID_CHALLENGE)
        if not record.setup:
            return {"setup": None}
        secret = self.pending_secret(user)
        return {"setup": self.setup_details(user, secret) if secret is not None else None}

    def _transport(self, name: str) -> Transport | None:
        return next((t for t in self.runtime.transports if t.name == name), None)

    async def _count_attempt(self, key: str) -> MfaChallenge:
        def count(stored: MfaChallenge) -> None:
            stored.attempts += 1

        # The challenge keeps its original expiry: attempts never extend it.
        record = await self.challenges.modify(key, MfaChallenge, count, reset_expiration=False)
        if record is None:
            raise BadRequestException(INVALID_CHALLENGE)
        if record.attempts > self.config.max_code_attempts:
            await self.challenges.delete(key)
            raise BadRequestException(INVALID_CHALLENGE)
        return record

    async def _check_lockout(self, key: str, record: MfaChallenge) -> None:
        lockout = self.runtime.lockout
        if lockout is None:
            return
        # Each code counts as a failed login for the identifier and IP of the password
        # step, so codes cannot be guessed faster than passwords.
        allowed, _remaining, retry_after = await lockout.check_and_record(
            record.ip_address or "", record.lockout_identifier
        )
        if not allowed:
            await self.challenges.delete(key)
            logger.warning("MFA code attempt locked out retry_after=%s", retry_after)
            raise RateLimitException(LOCKED_OUT, retry_after=retry_after)

    async def complete_challenge(
        self,
        db: AsyncSession,
        token: str,
        code: str,
        *,
        request: Request,
        response: Response,
    ) -> dict[str, Any]:
        """Check ``code`` against a challenge and, when right, finish the login.

        Every code counts as an attempt on the challenge and as a failed login in the
        shared lockout until it is proven.

        Args:
            db: The database session.
            token: The challenge token.
            code: An authenticator code, or a recovery code for an enrolled account.
            request: The verify request.
            response: The response the transport sets cookies on.

        Returns:
            The transport's login body (session: ``id``, ``username``, ``csrf_token``
            and cookies; bearer: tokens), plus ``recovery_codes`` after an enrolment
            and ``redirect_to`` when the challenge carried one.

        Raises:
            BadRequestException: The challenge is unknown, expired, exhausted or
                stale (400).
            UnauthorizedException: The code is wrong (401).
            ForbiddenException: A cross-site request to a cookie-setting transport
                (403).
            RateLimitException: The login lockout holds (429).
        """
        key, record = await self._load(token)
        transport = self._transport(record.transport)
        if transport is None:
            raise BadRequestException(INVALID_CHALLENGE)
        # Blocks login CSRF, as on /login: a foreign site finishing its own login here.
        if transport.sets_cookies and is_cross_site(request):
            raise ForbiddenException(CROSS_SITE_LOGIN)

        record = await self._count_attempt(key)
        await self._check_lockout(key, record)

        user = await self.repo.get_by_id(db, record.account_id)
        # A password reset or change since the password step voids the challenge.
        if (
            user is None
            or not self.repo.is_active(user)
            or self.repo.token_version(user) != record.token_version
        ):
            await self.challenges.delete(key)
            raise BadRequestException(INVALID_CHALLENGE)

        context = HookContext(
            ip_address=get_client_ip(request, self.runtime.trusted_proxy_hops),
            user_agent=request.headers.get("user-agent"),
            transport=record.transport,
            request=request,
        )
        secret: str | None = None
        pending: str | None = None
        if record.setup:
            # Enrolment during login proves the pending secret only: no recovery codes
            # exist yet and an enrolled account must use its own challenge.
            secret = self.pending_secret(user)
            pending = self.repo.get(user, "totp_secret_encrypted")
            proven = secret is not None and await self._accept_totp(db, user, secret, code)
        else:
            proven = await self.verify_code(db, user, code, context=context)
        if not proven:
            if record.attempts >= self.config.max_code_attempts:
                await self.challenges.delete(key)
            logger.warning("MFA code rejected user_id=%s", record.account_id)
            raise UnauthorizedException(INVALID_CODE)

        # Consuming atomically makes the challenge single-use even under a race.
        if await self.challenges.get_and_delete(key, MfaChallenge) is None:
            raise BadRequestException(INVALID_CHALLENGE)

        recovery_codes: list[str] | None = None
        if record.setup and secret is not None and pending is not None:
            recovery_codes = await self.enable(db, user, secret, pending, context=context)
        await self.runtime.record_login_success(record.ip_address or "", record.lockout_identifier)

        body = await transport.complete_login(request, response, user, dict(record.options))
        if recovery_codes is not None:
            body["recovery_codes"] = recovery_codes
        redirect_to = record.options.get("redirect_to")
        if redirect_to:
            body["redirect_to"] = redirect_to
        return body
