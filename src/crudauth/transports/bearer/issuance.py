"""Issuing bearer tokens: scope clamping, minting, the refresh cookie and login."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from crudauth.constants import SECONDS_PER_DAY, USER_AGENT_MAX_LENGTH
from crudauth.core import Transport
from crudauth.hooks import HookContext
from crudauth.transports.bearer.constants import (
    FAMILY_CLAIM,
    REFRESH_LOCATION_COOKIE,
    ROTATION_CLAIM,
    SCOPES_CLAIM,
    SUBJECT_CLAIM,
    TOKEN_TYPE_BEARER,
    TOKEN_VERSION_CLAIM,
)
from crudauth.transports.bearer.families import TokenFamilies
from crudauth.transports.bearer.tokens import create_access_token, create_refresh_token
from crudauth.transports.session.useragent import parse_user_agent
from crudauth.utils.http import get_client_ip

__all__ = ["TokenIssuance"]


class TokenIssuance(Transport):
    """Scope clamping, token minting, the refresh cookie and login completion.

    A mixin of ``BearerTransport`` without a constructor: ``BearerTransport.__init__``
    sets every field.

    Attributes:
        access_ttl: Lifetime of an access token, in seconds.
        refresh_ttl_days: Lifetime of a refresh token and the refresh cookie, in days.
        refresh: Where the refresh token travels, ``"cookie"`` or ``"body"``.
        default_scopes: Scopes granted when a login requests none.
        grantable_scopes: The only scopes a token may carry.
        refresh_cookie_name: Name of the refresh cookie.
        refresh_cookie_path: Path of the refresh cookie, or ``None`` for the cookie
            policy's path.
        families: The token family store, or ``None`` when the transport is stateless.
    """

    access_ttl: int
    refresh_ttl_days: int
    refresh: str
    default_scopes: tuple[str, ...]
    grantable_scopes: frozenset[str]
    refresh_cookie_name: str
    refresh_cookie_path: str | None
    families: TokenFamilies | None

    # -- scopes and minting ---------------------------------------------------------

    def clamp_scopes(self, scopes: Iterable[str]) -> tuple[str, ...]:
        """Drop every scope outside ``grantable_scopes``.

        Args:
            scopes: The requested scopes.

        Returns:
            The grantable scopes of ``scopes``, in their order and without repeats.
        """
        granted: list[str] = []
        for scope in scopes:
            if scope in self.grantable_scopes and scope not in granted:
                granted.append(scope)
        return tuple(granted)

    def access_token(
        self, user: Any, scopes: Iterable[str] = (), *, family_id: str | None = None
    ) -> str:
        """Mint an access token for ``user`` with its current ``token_version``.

        Unless the transport is stateless, only a token naming a live ``family_id``
        authenticates. The transport must be bound.

        Args:
            user: The user row.
            scopes: Requested scopes, clamped to ``grantable_scopes`` first.
            family_id: Raw id of the token family the token belongs to.

        Returns:
            The encoded access token.
        """
        claims = self._subject_claims(user)
        if family_id is not None:
            claims[FAMILY_CLAIM] = family_id
        return create_access_token(
            claims,
            self.runtime.secret_key,
            expires_delta=timedelta(seconds=self.access_ttl),
            algorithm=self.runtime.algorithm,
            scopes=self.clamp_scopes(scopes),
        )

    async def issue_tokens(
        self,
        user: Any,
        *,
        scopes: Sequence[str] | None = None,
        response: Response | None = None,
        request: Request | None = None,
    ) -> dict[str, str]:
        """Start a token family for ``user`` and mint its access and refresh tokens.

        A scope outside ``grantable_scopes`` is dropped, never an error. A stateless
        transport stores nothing. ``auth.issue_tokens`` calls this. Unlike a login, it
        fires no hook and writes no sign-in entry to the security log.

        Args:
            user: The user row.
            scopes: Requested scopes. ``None`` or empty means ``default_scopes``.
            response: With cookie delivery, the response that gets the refresh cookie.
            request: The request whose client IP and User-Agent describe the device in
                device lists.

        Returns:
            ``access_token`` and ``token_type``, plus ``refresh_token`` unless the
            refresh token was set as a cookie on ``response``.

        Raises:
            TypeError: ``scopes`` is a string instead of a list of scope names.
            StoreUnavailableError: The token family store is unreachable.
        """
        granted = self.clamp_scopes(self._requested_scopes(scopes))
        family_id: str | None = None
        rotation_id: str | None = None
        if self.families is not None:
            family_id, rotation_id, _record = await self.families.start(
                self.runtime.repo.user_id(user),
                scopes=list(granted),
                token_version=self.runtime.repo.token_version(user),
                **self._device_fields(request),
            )
        return self._token_body(user, granted, family_id, rotation_id, response)

    def _token_body(
        self,
        user: Any,
        scopes: tuple[str, ...],
        family_id: str | None,
        rotation_id: str | None,
        response: Response | None,
    ) -> dict[str, str]:
        body = {
            "access_token": self.access_token(user, scopes, family_id=family_id),
            "token_type": TOKEN_TYPE_BEARER,
        }
        refresh_token = self._refresh_token(user, scopes, family_id, rotation_id)
        if response is not None and self.refresh == REFRESH_LOCATION_COOKIE:
            self.set_refresh_cookie(response, refresh_token)
        else:
            body["refresh_token"] = refresh_token
        return body

    def _device_fields(self, request: Request | None) -> dict[str, Any]:
        if request is None:
            return {}
        user_agent = request.headers.get("user-agent", "")[:USER_AGENT_MAX_LENGTH]
        return {
            "ip_address": get_client_ip(request, self.runtime.trusted_proxy_hops),
            "user_agent": user_agent,
            "device_info": parse_user_agent(user_agent).model_dump(),
        }

    def _requested_scopes(self, scopes: Sequence[str] | None) -> tuple[str, ...]:
        if isinstance(scopes, str):
            raise TypeError("scopes must be a list of scope names, not a string")
        return tuple(scopes) if scopes else self.default_scopes

    def _subject_claims(self, user: Any) -> dict[str, Any]:
        repo = self.runtime.repo
        return {
            SUBJECT_CLAIM: str(repo.user_id(user)),
            TOKEN_VERSION_CLAIM: repo.token_version(user),
        }

    def _refresh_token(
        self,
        user: Any,
        scopes: tuple[str, ...],
        family_id: str | None,
        rotation_id: str | None,
    ) -> str:
        claims = {**self._subject_claims(user), SCOPES_CLAIM: list(scopes)}
        if family_id is not None and rotation_id is not None:
            claims[FAMILY_CLAIM] = family_id
            claims[ROTATION_CLAIM] = rotation_id
        return create_refresh_token(
            claims,
            self.runtime.secret_key,
            expires_delta=timedelta(days=self.refresh_ttl_days),
            algorithm=self.runtime.algorithm,
        )

    # -- cookies --------------------------------------------------------------------

    @property
    def sets_cookies(self) -> bool:
        """Whether completing a login sets the refresh cookie (cookie delivery only)."""
        return self.refresh == REFRESH_LOCATION_COOKIE

    def set_refresh_cookie(self, response: Response, refresh_token: str) -> None:
        """Set the HttpOnly refresh cookie with the transport's cookie policy.

        Args:
            response: The response that gets the cookie.
            refresh_token: The encoded refresh token.
        """
        policy = self.cookie_config()
        response.set_cookie(
            key=self.refresh_cookie_name,
            value=refresh_token,
            max_age=self.refresh_ttl_days * SECONDS_PER_DAY,
            path=self.refresh_cookie_path or policy.path,
            secure=policy.secure,
            # Keeps the refresh token out of reach of page scripts (XSS).
            httponly=True,
            samesite=policy.samesite,
        )

    def clear_cookies(self, response: Response) -> None:
        """Expire the refresh cookie, which only cookie delivery sets."""
        if self.refresh != REFRESH_LOCATION_COOKIE:
            return
        policy = self.cookie_config()
        # Browsers ignore a deletion whose path or flags differ from the set cookie.
        response.delete_cookie(
            key=self.refresh_cookie_name,
            path=self.refresh_cookie_path or policy.path,
            secure=policy.secure,
            httponly=True,
            samesite=policy.samesite,
        )

    # -- login ----------------------------------------------------------------------

    async def complete_login(
        self, request: Request, response: Response, user: Any, options: dict[str, Any]
    ) -> dict[str, Any]:
        """Issue tokens for ``options["scopes"]`` and record the sign-in.

        The sign-in goes to the security log, when built, and to ``on_after_login``.
        """
        body: dict[str, Any] = await self.issue_tokens(
            user, scopes=options.get("scopes"), response=response, request=request
        )
        security_log = self.runtime.security_log
        if security_log is not None:
            await security_log.record_sign_in(user, request=request, transport=self.name)
        await self.runtime.hooks.fire(
            "on_after_login",
            self.runtime.repo.to_dict(user),
            request=request,
            context=self._hook_context(request),
        )
        return body

    def _hook_context(self, request: Request) -> HookContext:
        user_agent = request.headers.get("user-agent")
        return HookContext(
            ip_address=get_client_ip(request, self.runtime.trusted_proxy_hops),
            user_agent=user_agent[:USER_AGENT_MAX_LENGTH] if user_agent else None,
            transport=self.name,
            request=request,
        )
