"""Refreshing bearer tokens: rotation, reuse detection and ending token families."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from crudauth.core import AuthContext
from crudauth.transports.bearer._parsing import _bearer_credentials, _scopes_claim
from crudauth.transports.bearer.authentication import BearerAuthentication
from crudauth.transports.bearer.constants import (
    FAMILY_CLAIM,
    FAMILY_REASON_LOGOUT,
    FAMILY_REASON_REUSE,
    INVALID_REFRESH_TOKEN,
    REFRESH_LOCATION_BODY,
    REFRESH_TOKEN_MISSING,
    REFRESH_TOKEN_NAME,
    ROTATION_CLAIM,
    TOKEN_TYPE_BEARER,
)
from crudauth.transports.bearer.families import TokenFamily
from crudauth.transports.bearer.issuance import TokenIssuance
from crudauth.transports.bearer.tokens import TokenType, verify_token

__all__ = ["TokenRefresh"]

logger = logging.getLogger("crudauth.security")


class TokenRefresh(TokenIssuance, BearerAuthentication):
    """Refresh-token rotation, reuse detection and the ending of token families.

    A mixin of ``BearerTransport`` without a constructor: ``BearerTransport.__init__``
    sets every field. It mints tokens through ``TokenIssuance`` and checks users and
    keys through ``BearerAuthentication``.
    """

    async def read_refresh(self, request: Request) -> str | None:
        """Read the presented refresh token from the cookie or the JSON body.

        The refresh cookie is read first in both delivery modes. Only body delivery then
        reads the JSON body's ``refresh_token`` field. A body that is not a JSON object
        counts as no token. The token is not verified here.

        Args:
            request: The incoming request.

        Returns:
            The refresh token, or ``None`` when the request carries none.
        """
        cookie = request.cookies.get(self.refresh_cookie_name)
        if cookie:
            return cookie
        if self.refresh != REFRESH_LOCATION_BODY:
            return None

        try:
            body = await request.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        token = body.get(REFRESH_TOKEN_NAME)
        return token if isinstance(token, str) and token else None

    async def refresh_access_token(self, request: Request, ctx: AuthContext) -> dict[str, str]:
        """Rotate the request's refresh token and mint a new access token.

        The refresh token's scopes are clamped again to the current
        ``grantable_scopes``. A rotated token presented outside the grace window ends
        its family, records a security event and fires ``on_refresh_token_reuse``. A
        stateless transport does not rotate: it returns a new access token only, and
        the client keeps its refresh token.

        Args:
            request: The request carrying the refresh token.
            ctx: Per-request context used to load the user.

        Returns:
            ``access_token`` and ``token_type``, plus the new ``refresh_token`` unless
            the transport is stateless. The ``/refresh`` route moves that refresh
            token into the cookie under cookie delivery.

        Raises:
            UnauthorizedException: The token is missing, invalid, expired, of another
                ``token_version`` or of an ended family, or names a missing or
                disabled user.
            StoreUnavailableError: The token family store is unreachable.
        """
        token = await self.read_refresh(request)
        if token is None:
            raise self.make_unauthorized_error(REFRESH_TOKEN_MISSING)

        claims = self._verify_refresh(token)
        scopes = _scopes_claim(claims) if claims is not None else None
        if claims is None or scopes is None:
            raise self.make_unauthorized_error(INVALID_REFRESH_TOKEN)

        if self.families is None:
            user = await self._load_current_user(ctx, claims, None)
            if user is None:
                raise self.make_unauthorized_error(INVALID_REFRESH_TOKEN)
            return {
                "access_token": self.access_token(user, scopes),
                "token_type": TOKEN_TYPE_BEARER,
            }
        return await self._rotate(request, ctx, claims, scopes)

    async def _rotate(
        self,
        request: Request,
        ctx: AuthContext,
        claims: Mapping[str, Any],
        scopes: tuple[str, ...],
    ) -> dict[str, str]:
        families = self.families
        assert families is not None
        family_id = claims.get(FAMILY_CLAIM)
        rotation_id = claims.get(ROTATION_CLAIM)
        if not isinstance(family_id, str) or not isinstance(rotation_id, str):
            raise self.make_unauthorized_error(INVALID_REFRESH_TOKEN)

        family = await families.get_live(family_id)
        user = await self._load_current_user(ctx, claims, family) if family else None
        if user is None:
            raise self.make_unauthorized_error(INVALID_REFRESH_TOKEN)

        outcome = await families.rotate(family_id, rotation_id)
        if outcome.status == "reused":
            await self._report_reuse(request, user, outcome.family)
            raise self.make_unauthorized_error(INVALID_REFRESH_TOKEN)
        if outcome.rotation_id is None:
            raise self.make_unauthorized_error(INVALID_REFRESH_TOKEN)
        return self._token_body(user, scopes, family_id, outcome.rotation_id, None)

    async def _report_reuse(self, request: Request, user: Any, family: TokenFamily | None) -> None:
        from crudauth.security_log import SecurityEventType, record_security_event

        user_id = self.runtime.repo.user_id(user)
        handle = family.handle if family is not None else None
        logger.warning(
            "refresh token reuse: family revoked user_id=%s family=%s",
            user_id,
            handle,
            extra={"event": FAMILY_REASON_REUSE, "user_id": user_id, "family_handle": handle},
        )
        await record_security_event(
            self.runtime,
            user_id,
            SecurityEventType.REFRESH_TOKEN_REUSED,
            request=request,
            detail={"handles": [handle] if handle else [], "reason": FAMILY_REASON_REUSE},
        )
        await self.runtime.hooks.fire(
            "on_refresh_token_reuse",
            self.runtime.repo.to_dict(user),
            family_handle=handle,
            context=self._hook_context(request),
        )

    def _verify_refresh(self, token: str) -> dict[str, Any] | None:
        return verify_token(
            token, self._verification_keys(), TokenType.REFRESH, algorithm=self.runtime.algorithm
        )

    async def family_of_request(self, request: Request) -> str | None:
        """Find the raw family id named by the request's refresh or access token.

        The refresh token is tried first. Only a valid, unexpired token counts, but the
        state of the family it names is not checked.

        Args:
            request: The incoming request.

        Returns:
            The raw family id, or ``None`` when no valid token names one.
        """
        candidates: list[tuple[str, TokenType]] = []
        refresh_token = await self.read_refresh(request)
        if refresh_token:
            candidates.append((refresh_token, TokenType.REFRESH))
        access = _bearer_credentials(request)
        if access:
            candidates.append((access, TokenType.ACCESS))
        for token, token_type in candidates:
            claims = verify_token(
                token, self._verification_keys(), token_type, algorithm=self.runtime.algorithm
            )
            family_id = claims.get(FAMILY_CLAIM) if claims is not None else None
            if isinstance(family_id, str):
                return family_id
        return None

    async def end_request_credential(self, request: Request) -> bool:
        """End the token family that the request's refresh or access token names.

        Args:
            request: The logout request.

        Returns:
            Whether a family was ended.

        Raises:
            StoreUnavailableError: The token family store is unreachable.
        """
        family_id = await self.family_of_request(request)
        if family_id is None:
            return False
        return await self.end_family(family_id)

    async def end_family(self, family_id: str, *, reason: str = FAMILY_REASON_LOGOUT) -> bool:
        """End one token family by its raw id and record why in the security log.

        Args:
            family_id: The raw family id, as carried in the tokens.
            reason: Why the family ended, as written to the security log.

        Returns:
            Whether a family was ended. It is ``False`` for a stateless transport and
            when no family was stored under ``family_id``.

        Raises:
            StoreUnavailableError: The token family store is unreachable.
        """
        from crudauth.security_log import SecurityEventType, record_security_event

        if self.families is None:
            return False
        record = await self.families.revoke(family_id)
        if record is None:
            return False
        await record_security_event(
            self.runtime,
            record.user_id,
            SecurityEventType.TOKEN_FAMILY_ENDED,
            detail={"handles": [record.handle], "count": 1, "reason": reason},
        )
        return True
