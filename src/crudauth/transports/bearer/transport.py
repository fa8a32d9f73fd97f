"""The JWT bearer transport: construction, the token family store and the routes.

``BearerTransport`` is split by concept: ``issuance`` (scope clamping, minting, the
refresh cookie and login), ``authentication`` (access tokens on requests) and
``refresh`` (rotation, reuse detection and ending token families).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from crudauth.constants import (
    DEFAULT_ACCESS_TTL_SECONDS,
    DEFAULT_REFRESH_TTL_DAYS,
    SECONDS_PER_DAY,
)
from crudauth.core import CookieConfig
from crudauth.transports.bearer._parsing import _require_positive, _scope_tuple
from crudauth.transports.bearer.authentication import BearerAuthentication
from crudauth.transports.bearer.constants import (
    DEFAULT_REFRESH_GRACE_SECONDS,
    REFRESH_LOCATION_COOKIE,
    REFRESH_LOCATIONS,
    REFRESH_TOKEN_NAME,
    TOKEN_FAMILY_PREFIX,
    TRANSPORT_NAME,
)
from crudauth.transports.bearer.families import TokenFamilies
from crudauth.transports.bearer.issuance import TokenIssuance
from crudauth.transports.bearer.refresh import TokenRefresh
from crudauth.transports.bearer.signatures import VerifiedTokens

if TYPE_CHECKING:
    from fastapi import APIRouter

    from crudauth.storage.base import AbstractSessionStorage

__all__ = ["BearerTransport"]


class BearerTransport(TokenRefresh, TokenIssuance, BearerAuthentication):
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

    def contributes_routes(self) -> APIRouter:
        """Build ``/token``, ``/refresh`` and, where it applies, ``/logout``."""
        from crudauth.transports.bearer.routes import build_bearer_routes

        return build_bearer_routes(self)
