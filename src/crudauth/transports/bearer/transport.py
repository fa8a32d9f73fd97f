"""The JWT bearer transport: token issuance, scope clamping, authentication, refresh."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
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
from crudauth.transports.bearer._parsing import (
    _bearer_credentials,
    _require_positive,
    _scope_tuple,
    _scopes_claim,
)
from crudauth.transports.bearer.constants import (
    AUTHENTICATE_SCHEME,
    DEFAULT_REFRESH_GRACE_SECONDS,
    EXPIRY_CLAIM,
    FAMILY_CLAIM,
    FAMILY_REASON_LOGOUT,
    FAMILY_REASON_REUSE,
    INVALID_REFRESH_TOKEN,
    INVALID_TOKEN,
    REFRESH_LOCATION_BODY,
    REFRESH_LOCATION_COOKIE,
    REFRESH_LOCATIONS,
    REFRESH_TOKEN_MISSING,
    REFRESH_TOKEN_NAME,
    ROTATION_CLAIM,
    SCOPES_CLAIM,
    SUBJECT_CLAIM,
    TOKEN_FAMILY_PREFIX,
    TOKEN_TYPE_BEARER,
    TOKEN_VERSION_CLAIM,
    TRANSPORT_NAME,
)
from crudauth.transports.bearer.families import TokenFamilies, TokenFamily
from crudauth.transports.bearer.signatures import VerifiedTokens
from crudauth.transports.bearer.tokens import (
    TokenType,
    create_access_token,
    create_refresh_token,
    is_expired_token,
    verify_token,
)
from crudauth.transports.session.useragent import parse_user_agent
from crudauth.utils.http import get_client_ip

if TYPE_CHECKING:
    from fastapi import APIRouter

    from crudauth.storage.base import AbstractSessionStorage

__all__ = ["BearerTransport"]

logger = logging.getLogger("crudauth.security")


class BearerTransport(Transport):
    """Authenticate requests by ``Authorization: Bearer <access JWT>``.

    ``POST /token`` exchanges a password for a short-lived access token and a
    long-lived refresh token, and starts a token family: the server-side record of this
    device, listed by ``GET /sessions`` and ended by ``DELETE /sessions/{id}``,
    ``/logout-all``, a password change or reset. ``POST /refresh`` rotates the refresh
    token every time. Presenting a refresh token that was already rotated, later than
    ``refresh_grace_seconds`` after its rotation, revokes the whole family (theft
    detection) and fires ``on_refresh_token_reuse``. Access tokens name their family,
    and each bearer request reads the family once, so an ended family's access tokens
    stop working at once.

    With ``stateless=True`` no family is stored or read: tokens then live until they
    expire, and only a ``token_version`` bump (password change or reset) or an
    inactive account ends them early. Scopes are clamped to ``grantable_scopes``
    whenever a token is minted, never when one is presented.

    Args:
        access_ttl: Lifetime of an access token, in seconds.
        refresh_ttl_days: Lifetime of a refresh token, the refresh cookie and a token
            family, in days. Each rotation restarts the family's lifetime.
        refresh: Where the refresh token travels: ``"cookie"`` (an HttpOnly cookie) or
            ``"body"`` (the ``refresh_token`` field of the JSON response and request).
        default_scopes: Scopes granted when a login requests none.
        grantable_scopes: The only scopes a token may carry. Defaults to
            ``default_scopes``.
        refresh_cookie_name: Name of the refresh cookie.
        refresh_cookie_path: Path of the refresh cookie, e.g. ``"/auth/refresh"``.
            Defaults to the cookie policy's path.
        cookies: Cookie policy of this transport. Defaults to the app-wide one.
        refresh_grace_seconds: How long, from 0 to 60 seconds, the refresh token just
            rotated may still be presented by a racing refresh without counting as
            reuse.
        stateless: Store no token family (see above).
        family_storage_prefix: Key prefix of the token families in the store. Apps
            that share one Redis or database store need different prefixes.

    Raises:
        ValueError: ``refresh`` is not ``"cookie"`` or ``"body"``, a lifetime is not a
            positive whole number, ``refresh_grace_seconds`` is outside 0 to 60,
            ``refresh_cookie_name`` is empty, ``refresh_cookie_path`` does not start
            with ``/``, a scope is not a string without spaces, or ``default_scopes``
            is not a subset of ``grantable_scopes``.

    Example:
        ```python
        auth = CRUDAuth(
            session=get_db,
            user_model=User,
            SECRET_KEY=settings.secret_key,
            transports=[BearerTransport(refresh="body", default_scopes=["read"])],
        )
        ```
    """

    name = TRANSPORT_NAME
    defers_database = True

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
        refresh_grace_seconds: float = DEFAULT_REFRESH_GRACE_SECONDS,
        stateless: bool = False,
        family_storage_prefix: str = TOKEN_FAMILY_PREFIX,
    ) -> None:
        if refresh not in REFRESH_LOCATIONS:
            raise ValueError(f"refresh must be 'cookie' or 'body', not {refresh!r}")
        _require_positive("access_ttl", access_ttl)
        _require_positive("refresh_ttl_days", refresh_ttl_days)
        if isinstance(refresh_grace_seconds, bool) or not (
            isinstance(refresh_grace_seconds, (int, float)) and 0 <= refresh_grace_seconds <= 60
        ):
            raise ValueError(
                f"refresh_grace_seconds must be between 0 and 60, not {refresh_grace_seconds!r}"
            )
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
        self.refresh_grace_seconds = float(refresh_grace_seconds)
        self.stateless = stateless
        # Apps that share one Redis or database store need different prefixes.
        self.family_storage_prefix = family_storage_prefix
        self.families: TokenFamilies | None = None
        # Access tokens whose signature verified, and the keys they verified under.
        self._verified_tokens = VerifiedTokens()
        self._verified_with: tuple[str, ...] = ()

    def attach_family_store(self, storage: AbstractSessionStorage[Any]) -> None:
        """Keep token families in ``storage``, unless the transport is stateless.

        Call it after ``bind``, because the family keys are derived from the runtime's
        secret keys. ``CRUDAuth`` calls it with a store that follows the app's Redis or
        database backend.

        Args:
            storage: The store that keeps the token families.
        """
        if self.stateless:
            return
        self.families = TokenFamilies(
            storage,
            key_secret=self.runtime.secret_key,
            ttl_seconds=self.refresh_ttl_days * SECONDS_PER_DAY,
            grace_seconds=self.refresh_grace_seconds,
            previous_secrets=self.runtime.previous_secret_keys,
        )

    @property
    def sets_cookies(self) -> bool:
        """Whether completing a login sets the refresh cookie (cookie delivery only)."""
        return self.refresh == REFRESH_LOCATION_COOKIE

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

    # -- authentication -------------------------------------------------------------

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
            if is_expired_token(token, self._verification_keys(), algorithm=self.runtime.algorithm):
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

    # -- refresh --------------------------------------------------------------------

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
        body = self._token_body(user, scopes, family_id, outcome.rotation_id, None)
        return body

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

    def contributes_routes(self) -> APIRouter:
        """Build ``/token``, ``/refresh`` and, where it applies, ``/logout``."""
        from crudauth.transports.bearer.routes import build_bearer_routes

        return build_bearer_routes(self)


def _expiry_of(claims: Mapping[str, Any]) -> datetime:
    return datetime.fromtimestamp(float(claims[EXPIRY_CLAIM]), tz=timezone.utc)
