"""Authenticating requests by their bearer access token."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request

from crudauth.core import AuthContext, Transport
from crudauth.exceptions import UnauthorizedException
from crudauth.principal import Principal
from crudauth.transports.bearer._parsing import _bearer_credentials, _scopes_claim
from crudauth.transports.bearer.constants import (
    AUTHENTICATE_SCHEME,
    EXPIRY_CLAIM,
    FAMILY_CLAIM,
    INVALID_TOKEN,
    SUBJECT_CLAIM,
    TOKEN_VERSION_CLAIM,
)
from crudauth.transports.bearer.families import TokenFamilies, TokenFamily
from crudauth.transports.bearer.signatures import VerifiedTokens
from crudauth.transports.bearer.tokens import TokenType, is_expired_token, verify_token

__all__ = ["BearerAuthentication"]

logger = logging.getLogger("crudauth.security")


class BearerAuthentication(Transport):
    """Authentication by access token, and the 401 of every bearer rejection.

    A mixin of ``BearerTransport`` without a constructor: ``BearerTransport.__init__``
    sets every field.

    Attributes:
        families: The token family store, or ``None`` when the transport is stateless.
    """

    families: TokenFamilies | None
    # Access tokens whose signature verified, and the keys they verified under.
    _verified_tokens: VerifiedTokens
    _verified_with: tuple[str, ...]

    def make_unauthorized_error(self, detail: str) -> UnauthorizedException:
        """Build the 401 of every bearer rejection, with ``WWW-Authenticate: Bearer``.

        Override this to change the body or to add the ``error`` parameters of RFC 6750
        section 3 in one place.

        Args:
            detail: The client-facing message.

        Returns:
            The exception to raise.
        """
        return UnauthorizedException(detail, headers={"WWW-Authenticate": AUTHENTICATE_SCHEME})

    async def authenticate(self, request: Request, ctx: AuthContext) -> Principal | None:
        """Resolve ``Authorization: Bearer <token>`` to a principal.

        Returns ``None`` when the header is absent, names another scheme, or carries an
        expired token, when the token's family has ended, or when the user is gone,
        disabled or has a newer ``token_version``. Raises ``UnauthorizedException``
        (401, from ``make_unauthorized_error``) for any other token that fails
        verification. Costs one store read unless the transport is stateless.
        """
        token = _bearer_credentials(request)
        if token is None:
            return None

        keys = self._verification_keys()
        if keys != self._verified_with:
            # A token verified under a key that is no longer accepted must verify again.
            self._verified_tokens.clear()
            self._verified_with = keys
        claims = verify_token(
            token,
            keys,
            TokenType.ACCESS,
            algorithm=self.runtime.algorithm,
            verified=self._verified_tokens,
        )
        if claims is None:
            # Expiry is the normal end of a short-lived token: the caller is anonymous.
            if is_expired_token(token, keys, algorithm=self.runtime.algorithm):
                return None
            logger.warning("bearer token rejected: reason=invalid path=%s", request.url.path)
            # A tampered or misused token ends the transport loop (no fall-through).
            raise self.make_unauthorized_error(INVALID_TOKEN)

        scopes = _scopes_claim(claims)
        if scopes is None:
            raise self.make_unauthorized_error(INVALID_TOKEN)

        metadata: dict[str, Any] = {"expires_at": _expiry_of(claims)}
        family: TokenFamily | None = None
        if self.families is not None:
            family_id = claims.get(FAMILY_CLAIM)
            # An ended device ends its access tokens at once, not when they expire.
            family = await self.families.get_live(family_id) if isinstance(family_id, str) else None
            if family is None:
                return None
            metadata = {"family_id": family_id, "expires_at": family.expires_at}

        user = await self._load_current_user(ctx, claims, family)
        if user is None:
            return None
        return ctx.build_principal(
            user_id=self.runtime.repo.user_id(user),
            user=user,
            transport=self.name,
            scopes=scopes,
            metadata=metadata,
        )

    async def _load_current_user(
        self, ctx: AuthContext, claims: Mapping[str, Any], family: TokenFamily | None
    ) -> Any:
        """Return the user, or ``None`` if gone, disabled or of another epoch."""
        repo = self.runtime.repo
        subject = claims[SUBJECT_CLAIM]
        # A family record of another user never vouches for this token.
        if family is not None and str(family.user_id) != str(subject):
            return None
        # A token_version bump (password change or reset) revokes every older token. A
        # family carries the epoch itself, so the device a password change keeps can be
        # rebound to the new epoch without minting new tokens.
        if family is not None:
            token_version: Any = family.token_version
        else:
            token_version = claims.get(TOKEN_VERSION_CLAIM, 0)
        if isinstance(token_version, bool):
            return None

        def live(user: Any) -> bool:
            # A disabled account, or a token of another epoch, authenticates as absent.
            return bool(repo.is_active(user)) and token_version == repo.token_version(user)

        return await ctx.resolve_current_user(subject, live)

    def _verification_keys(self) -> tuple[str, ...]:
        # Earlier keys still verify, so rotating the key does not void issued tokens.
        return (self.runtime.secret_key, *self.runtime.previous_secret_keys)


def _expiry_of(claims: Mapping[str, Any]) -> datetime:
    return datetime.fromtimestamp(float(claims[EXPIRY_CLAIM]), tz=timezone.utc)
