"""Construction of the OAuth feature: providers, the state store and the service."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from crudauth.constants import OAUTH_STATE_TTL_SECONDS
from crudauth.exceptions import BadRequestException
from crudauth.oauth.constants import OAUTH_STATE_STORAGE_PREFIX, UNKNOWN_PROVIDER_DETAIL
from crudauth.oauth.factory import OAuthProviderFactory
from crudauth.oauth.paths import callback_url, is_redirect_target, resolve_oauth_paths
from crudauth.oauth.provider import AbstractOAuthProvider
from crudauth.oauth.providers.oidc import GenericOIDCProvider
from crudauth.oauth.schemas import OAuthCredentials
from crudauth.oauth.service import OAuthAccountService

if TYPE_CHECKING:
    from crudauth.repository import UserRepository
    from crudauth.storage.base import AbstractSessionStorage
    from crudauth.transports.session import SessionTransport

__all__ = ["OAuthFeature", "build_oauth_feature"]

RESPONSE_MODES = ("redirect", "json")
# A provider name is a URL segment and part of a column name.
_PROVIDER_NAME = re.compile(r"[a-z][a-z0-9_]*")

StateStoreFactory = Callable[[str, int], "AbstractSessionStorage[Any]"]


@dataclass
class OAuthFeature:
    """Everything the OAuth routes need, built once by ``CRUDAuth``.

    Attributes:
        service: Links and creates accounts.
        providers: The configured providers by name, read-only.
        paths: The resolved route paths.
        response_mode: ``"redirect"`` or ``"json"``.
        default_redirect: Where a flow ends without its own target, and where
            failures are sent in redirect mode.
        state_store: One-time storage of the ``OAuthState`` records.
        session_transport: Starts the session after a successful callback.
    """

    service: OAuthAccountService
    providers: Mapping[str, AbstractOAuthProvider]
    paths: dict[str, str]
    response_mode: str
    default_redirect: str
    state_store: AbstractSessionStorage[Any]
    session_transport: SessionTransport

    def provider(self, name: str) -> AbstractOAuthProvider:
        """Return the configured provider ``name``.

        Args:
            name: The provider name from the URL.

        Raises:
            BadRequestException: No provider of that name is configured.
        """
        provider = self.providers.get(name)
        if provider is None:
            raise BadRequestException(UNKNOWN_PROVIDER_DETAIL.format(name=name))
        return provider

    async def initialize(self) -> None:
        """Let every provider resolve its endpoints (OIDC discovery).

        Raises:
            httpx.HTTPError: A discovery document could not be fetched.
            ValueError: A discovery document is invalid.
        """
        for provider in self.providers.values():
            await provider.initialize()


def build_oauth_feature(
    *,
    oauth: Mapping[str, Any],
    repo: UserRepository,
    session_transport: SessionTransport | None,
    redirect_base_url: str | None,
    oauth_paths: Mapping[str, str] | None,
    response_mode: str,
    default_redirect: str | None,
    new_user_fields: Any,
    new_user_defaults: dict[str, Any],
    state_store_factory: StateStoreFactory,
) -> OAuthFeature:
    """Validate the OAuth settings and build the feature.

    Args:
        oauth: The ``oauth=`` setting: ``OAuthCredentials`` (or dicts) by provider
            name.
        repo: The user repository, checked for each ``<name>_id`` column.
        session_transport: The app's session transport; required.
        redirect_base_url: The app's public origin; required.
        oauth_paths: The ``oauth_paths=`` overrides.
        response_mode: ``"redirect"`` or ``"json"``.
        default_redirect: The ``oauth_default_redirect=`` setting; ``None`` uses
            ``redirect_base_url``.
        new_user_fields: Callback that returns server-set fields for new accounts.
        new_user_defaults: Fixed values for new accounts.
        state_store_factory: Builds a store from a key prefix and a TTL in seconds.

    Raises:
        ValueError: Naming the setting, in this order: no session transport, no
            ``redirect_base_url``, an invalid ``oauth_default_redirect``, invalid
            ``oauth_paths``, a bad response mode, an invalid provider name, a missing
            ``<name>_id`` column, invalid credentials, an unregistered provider, or a
            provider that needs a secret it lacks.
    """
    if session_transport is None or session_transport.manager is None:
        raise ValueError(
            "oauth= needs a SessionTransport: the callback signs the browser in with a "
            "session. Add SessionTransport() to transports="
        )
    if not redirect_base_url or not redirect_base_url.strip():
        raise ValueError(
            "oauth= needs redirect_base_url=, the public base URL provider redirect "
            "URIs are built from (e.g. 'https://app.example.com')"
        )
    if default_redirect is not None and not is_redirect_target(default_redirect):
        raise ValueError(
            f"oauth_default_redirect must be a same-origin path such as '/home' or an "
            f"absolute http(s) URL, got {default_redirect!r}"
        )
    paths = resolve_oauth_paths(oauth_paths)
    if response_mode not in RESPONSE_MODES:
        raise ValueError(f"oauth_response_mode must be 'redirect' or 'json', got {response_mode!r}")

    providers: dict[str, AbstractOAuthProvider] = {}
    for name, raw in oauth.items():
        if not isinstance(name, str) or not _PROVIDER_NAME.fullmatch(name):
            raise ValueError(
                f"OAuth provider name {name!r} must be lower-case letters, digits and "
                f"underscores, starting with a letter"
            )
        if not repo.has(f"{name}_id"):
            raise ValueError(
                f"OAuth provider {name!r} needs a {name}_id column on "
                f"{repo.model.__name__}; add it or map it with column_map"
            )
        credentials = OAuthCredentials.model_validate(raw)
        providers[name] = _build_provider(
            name, credentials, callback_url(redirect_base_url, paths, name)
        )

    return OAuthFeature(
        service=OAuthAccountService(
            repo,
            new_user_fields,
            new_user_defaults,
            session_manager=session_transport.manager,
        ),
        providers=MappingProxyType(providers),
        paths=paths,
        response_mode=response_mode,
        default_redirect=default_redirect or redirect_base_url,
        state_store=state_store_factory(OAUTH_STATE_STORAGE_PREFIX, OAUTH_STATE_TTL_SECONDS),
        session_transport=session_transport,
    )


def _build_provider(
    name: str, credentials: OAuthCredentials, redirect_uri: str
) -> AbstractOAuthProvider:
    if credentials.issuer:
        return GenericOIDCProvider(
            credentials.client_id,
            credentials.client_secret,
            redirect_uri,
            issuer=credentials.issuer,
            provider_name=name,
            scopes=credentials.scopes,
        )
    if OAuthProviderFactory.get_provider_class(name) is None:
        raise ValueError(
            f"Unknown OAuth provider: {name!r}; register its class with "
            f"OAuthProviderFactory.register_provider or set OAuthCredentials(issuer=...)"
        )
    return OAuthProviderFactory.create_provider(
        name,
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        redirect_uri=redirect_uri,
        scopes=credentials.scopes,
    )
