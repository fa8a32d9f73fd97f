"""The JWT bearer transport: token issuance, scope clamping, authentication, refresh."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from crudauth.constants import (
    DEFAULT_ACCESS_TTL_SECONDS,
    DEFAULT_REFRESH_TTL_DAYS,
    SECONDS_PER_DAY,
    USER_AGENT_MAX_LENGTH,
)
from crudauth.core import AuthContext, CookieConfig, Transport
from crudauth.exceptions import UnauthorizedException
from crudauth.hooks import HookContext
from crudauth.principal import Principal
from crudauth.transports.bearer.constants import (
    AUTHENTICATE_SCHEME,
    INVALID_REFRESH_TOKEN,
    INVALID_TOKEN,
    REFRESH_LOCATION_BODY,
    REFRESH_LOCATION_COOKIE,
    REFRESH_LOCATIONS,
    REFRESH_TOKEN_MISSING,
    REFRESH_TOKEN_NAME,
    SCOPES_CLAIM,
    SUBJECT_CLAIM,
    TOKEN_TYPE_BEARER,
    TOKEN_VERSION_CLAIM,
    TRANSPORT_NAME,
)
from crudauth.transports.bearer.tokens import (
    TokenType,
    create_access_token,
    create_refresh_token,
    is_expired_token,
    verify_token,
)
from crudauth.utils.http import get_client_ip

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = ["BearerTransport"]

logger = logging.getLogger("crudauth.security")


class BearerTransport(Transport):
    """Authenticate requests by ``Authorization: Bearer <access JWT>``.

    ``POST /token`` exchanges a password for a short-lived access token and a
    long-lived refresh token, and ``POST /refresh`` mints a new access token from the
    refresh token. Tokens carry the user's ``token_version`` as ``ver``, so bumping
    that column revokes every outstanding token of the user. Scopes are clamped to
    ``grantable_scopes`` whenever a token is minted, never when one is presented.

    Raises ``ValueError`` at construction for an unknown ``refresh`` mode, a
    non-positive lifetime, or ``default_scopes`` that are not a subset of
    ``grantable_scopes``.
    """

    name = TRANSPORT_NAME

    def __init__(
        self,
        *,
        access_ttl: int = DEFAULT_ACCESS_TTL_SECONDS,
        refresh_ttl_days: int = DEFAULT_REFRESH_TTL_DAYS,
        refresh: str = REFRESH_LOCATION_COOKIE,
        default_scopes: Sequence[str] | None = None,
        grantable_scopes: Iterable[str] | None = None,
        refresh_cookie_name: str = REFRESH_TOKEN_NAME,
        refresh_cookie_path: str | None = None,
        cookies: CookieConfig | None = None,
    ) -> None:
        if refresh not in REFRESH_LOCATIONS:
            raise ValueError(f"refresh must be 'cookie' or 'body', not {refresh!r}")
        _require_positive("access_ttl", access_ttl)
        _require_positive("refresh_ttl_days", refresh_ttl_days)
        if not refresh_cookie_name:
            raise ValueError("refresh_cookie_name must be a non-empty cookie name")
        if refresh_cookie_path is not None and not refresh_cookie_path.startswith("/"):
            raise ValueError(
                f"refresh_cookie_path must start with '/', not {refresh_cookie_path!r}; "
                "set it to the path where /refresh is mounted, e.g. '/auth/refresh'"
            )

        defaults = _scope_tuple("default_scopes", default_scopes)
        ceiling = (
            frozenset(defaults)
            if grantable_scopes is None
            else frozenset(_scope_tuple("grantable_scopes", grantable_scopes))
        )
        not_grantable = sorted(set(defaults) - ceiling)
        if not_grantable:
            raise ValueError(
                f"default_scopes must be a subset of grantable_scopes, but {not_grantable} "
                "are not grantable: add them to grantable_scopes or drop them"
            )

        self.access_ttl = access_ttl
        self.refresh_ttl_days = refresh_ttl_days
        self.refresh = refresh
        self.default_scopes: tuple[str, ...] = defaults
        # Read on every mint, so narrowing it at runtime applies from the next refresh.
        self.grantable_scopes: frozenset[str] = ceiling
        self.refresh_cookie_name = refresh_cookie_name
        self.refresh_cookie_path = refresh_cookie_path
        self._cookie_override = cookies

    @property
    def sets_cookies(self) -> bool:
        """Whether completing a login sets the refresh cookie (cookie delivery only)."""
        return self.refresh == REFRESH_LOCATION_COOKIE

    def make_unauthorized_error(self, detail: str) -> UnauthorizedException:
        """Build the 401 of every bearer rejection, with ``WWW-Authenticate: Bearer``.

        Override this to change the body or to add the ``error`` parameters of RFC 6750
        section 3 in one place.
        """
        return UnauthorizedException(detail, headers={"WWW-Authenticate": AUTHENTICATE_SCHEME})

    # -- scopes and minting ---------------------------------------------------------

    def clamp_scopes(self, scopes: Iterable[str]) -> tuple[str, ...]:
        """Keep, in order and without repeats, the scopes in ``grantable_scopes``."""
        granted: list[str] = []
        for scope in scopes:
            if scope in self.grantable_scopes and scope not in granted:
                granted.append(scope)
        return tuple(granted)

    def access_token(self, user: Any, scopes: Iterable[str] = ()) -> str:
        """Mint an access token for ``user`` with its current ``token_version``.

        ``scopes`` are clamped to ``grantable_scopes`` first.
        """
        return create_access_token(
            self._subject_claims(user),
            self.runtime.secret_key,
            expires_delta=timedelta(seconds=self.access_ttl),
            algorithm=self.runtime.algorithm,
            scopes=self.clamp_scopes(scopes),
        )

    def issue_tokens(
        self,
        user: Any,
        *,
        scopes: Sequence[str] | None = None,
        response: Response | None = None,
    ) -> dict[str, str]:
        """Mint an access and refresh token pair for ``user``.

        The requested ``scopes`` (``default_scopes`` when empty) are clamped to
        ``grantable_scopes``, so a scope outside it is dropped, never an error. With a
        ``response`` and cookie delivery, the refresh token is set as a cookie and left
        out of the returned dict. Otherwise the dict carries it as ``refresh_token``.
        """
        granted = self.clamp_scopes(self._requested_scopes(scopes))
        body = {"access_token": self.access_token(user, granted), "token_type": TOKEN_TYPE_BEARER}
        refresh_token = self._refresh_token(user, granted)
        if response is not None and self.refresh == REFRESH_LOCATION_COOKIE:
            self.set_refresh_cookie(response, refresh_token)
        else:
            body["refresh_token"] = refresh_token
        return body

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

    def _refresh_token(self, user: Any, scopes: tuple[str, ...]) -> str:
        # NOTE: a per-device token family id joins these claims once rotation lands.
        claims = {**self._subject_claims(user), SCOPES_CLAIM: list(scopes)}
        return create_refresh_token(
            claims,
            self.runtime.secret_key,
            expires_delta=timedelta(days=self.refresh_ttl_days),
            algorithm=self.runtime.algorithm,
        )

    # -- cookies --------------------------------------------------------------------

    def set_refresh_cookie(self, response: Response, refresh_token: str) -> None:
        """Set the refresh cookie with the transport's cookie policy."""
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

    # -- authentication -------------------------------------------------------------

    async def authenticate(self, request: Request, ctx: AuthContext) -> Principal | None:
        """Resolve ``Authorization: Bearer <token>`` to a principal.

        Returns ``None`` when the header is absent, names another scheme, or carries an
        expired token, or when the user is gone, disabled or has a newer
        ``token_version``. Raises 401 for any other token that fails verification.
        """
        token = _bearer_credentials(request)
        if token is None:
            return None

        claims = verify_token(
            token, self._verification_keys(), TokenType.ACCESS, algorithm=self.runtime.algorithm
        )
        if claims is None:
            # Expiry is the normal end of a short-lived token: the caller is anonymous.
            if is_expired_token(token, self._verification_keys(), algorithm=self.runtime.algorithm):
                return None
            logger.warning("bearer token rejected: reason=invalid path=%s", request.url.path)
            # A tampered or misused token ends the transport loop (no fall-through).
            raise self.make_unauthorized_error(INVALID_TOKEN)

        scopes = _scopes_claim(claims)
        if scopes is None:
            raise self.make_unauthorized_error(INVALID_TOKEN)

        user = await self._load_current_user(ctx, claims)
        if user is None:
            return None
        return ctx.build_principal(
            user_id=self.runtime.repo.user_id(user),
            user=user,
            transport=self.name,
            scopes=scopes,
        )

    async def _load_current_user(self, ctx: AuthContext, claims: Mapping[str, Any]) -> Any:
        """Return the user, or ``None`` if gone, disabled or of another epoch."""
        repo = self.runtime.repo
        user = await ctx.resolve_user(claims[SUBJECT_CLAIM])
        if user is None or not repo.is_active(user):
            return None

        # A token_version bump (password change or reset) revokes every older token.
        token_version = claims.get(TOKEN_VERSION_CLAIM, 0)
        if isinstance(token_version, bool) or token_version != repo.token_version(user):
            return None
        return user

    def _verification_keys(self) -> tuple[str, ...]:
        # Earlier keys still verify, so rotating the key does not void issued tokens.
        return (self.runtime.secret_key, *self.runtime.previous_secret_keys)

    # -- refresh --------------------------------------------------------------------

    async def read_refresh(self, request: Request) -> str | None:
        """Return the presented refresh token, or ``None`` when there is none.

        The refresh cookie is read first in both delivery modes. Only body delivery then
        reads the JSON body's ``refresh_token`` field. A body that is not a JSON object
        counts as no token.
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
        """Mint a new access token from the request's refresh token.

        The refresh token's scopes are clamped again to the current
        ``grantable_scopes``. No new refresh token is issued. Raises 401 when the
        token is missing, invalid, expired or of another ``token_version``, or when it
        names a missing or disabled user.
        """
        token = await self.read_refresh(request)
        if token is None:
            raise self.make_unauthorized_error(REFRESH_TOKEN_MISSING)

        claims = self._verify_refresh(token)
        scopes = _scopes_claim(claims) if claims is not None else None
        if claims is None or scopes is None:
            raise self.make_unauthorized_error(INVALID_REFRESH_TOKEN)

        user = await self._load_current_user(ctx, claims)
        if user is None:
            raise self.make_unauthorized_error(INVALID_REFRESH_TOKEN)
        return {"access_token": self.access_token(user, scopes), "token_type": TOKEN_TYPE_BEARER}

    def _verify_refresh(self, token: str) -> dict[str, Any] | None:
        # NOTE: a token family lookup (reuse detection, per-device revocation) belongs
        # here once refresh rotation lands. Until then a refresh token stays valid
        # until it expires or the user's token_version changes.
        return verify_token(
            token, self._verification_keys(), TokenType.REFRESH, algorithm=self.runtime.algorithm
        )

    # -- login ----------------------------------------------------------------------

    async def complete_login(
        self, request: Request, response: Response, user: Any, options: dict[str, Any]
    ) -> dict[str, Any]:
        """Issue tokens for ``options["scopes"]`` and fire ``on_after_login``."""
        body: dict[str, Any] = self.issue_tokens(
            user, scopes=options.get("scopes"), response=response
        )
        user_agent = request.headers.get("user-agent")
        context = HookContext(
            ip_address=get_client_ip(request, self.runtime.trusted_proxy_hops),
            user_agent=user_agent[:USER_AGENT_MAX_LENGTH] if user_agent else None,
            transport=self.name,
            request=request,
        )
        await self.runtime.hooks.fire(
            "on_after_login", self.runtime.repo.to_dict(user), request=request, context=context
        )
        return body

    def contributes_routes(self) -> APIRouter:
        """Build ``/token``, ``/refresh`` and, where it applies, ``/logout``."""
        from crudauth.transports.bearer.routes import build_bearer_routes

        return build_bearer_routes(self)


def _bearer_credentials(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    # Another scheme (e.g. Basic) belongs to some other transport and is no error here.
    if scheme.lower() != AUTHENTICATE_SCHEME.lower() or not token:
        return None
    return token


def _scopes_claim(claims: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Return the ``scopes`` claim as a tuple, or ``None`` if not a list of strings."""
    scopes = claims.get(SCOPES_CLAIM, [])
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        return None
    return tuple(scopes)


def _require_positive(parameter: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{parameter} must be a positive whole number, not {value!r}")


def _scope_tuple(parameter: str, scopes: Iterable[str] | None) -> tuple[str, ...]:
    if scopes is None:
        return ()
    if isinstance(scopes, str):
        raise ValueError(f"{parameter} must be a list of scope names, not the string {scopes!r}")
    result = tuple(scopes)
    for scope in result:
        if not isinstance(scope, str) or scope.split() != [scope]:
            raise ValueError(
                f"{parameter} contains {scope!r}; a scope is a non-empty string without spaces"
            )
    return result
