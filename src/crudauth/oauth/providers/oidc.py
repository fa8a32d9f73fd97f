"""Any OpenID Connect issuer, configured from its discovery document."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crudauth.exceptions import BadRequestException
from crudauth.oauth.constants import (
    OIDC_DEFAULT_SCOPES,
    OIDC_DISCOVERY_PATH,
    OIDC_LOCAL_HOSTS,
    TOKEN_AUTH_BASIC,
    TOKEN_AUTH_POST,
)
from crudauth.oauth.provider import AbstractOAuthProvider, read_access_token
from crudauth.oauth.providers.claims import optional_text
from crudauth.oauth.providers.idtoken import IdTokenVerifier
from crudauth.oauth.schemas import OAuthUserInfo

if TYPE_CHECKING:
    import httpx

__all__ = ["GenericOIDCProvider", "normalize_issuer"]

logger = logging.getLogger("crudauth.oauth")

_ENDPOINT_KEYS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint")
NOT_INITIALIZED = (
    "OIDC provider {name!r} has not read its discovery document yet; await "
    "auth.initialize() in the app's lifespan before serving requests"
)


def normalize_issuer(issuer: str) -> str:
    """Return ``issuer`` trimmed and without trailing slashes.

    Args:
        issuer: The issuer URL as configured.

    Raises:
        ValueError: The issuer is empty, not an absolute http(s) URL with a host,
            carries a query or fragment, or uses plain http to a host other than
            localhost.
    """
    value = (issuer or "").strip()
    if not value:
        raise ValueError("OIDC issuer must not be empty")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"OIDC issuer must be an absolute http(s) URL, got {issuer!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"OIDC issuer must not have a query or fragment, got {issuer!r}")
    # Plain http would let anyone on the path swap the keys and endpoints.
    if parts.scheme == "http" and parts.hostname not in OIDC_LOCAL_HOSTS:
        raise ValueError(
            f"OIDC issuer must use https (plain http is allowed only for localhost), got {issuer!r}"
        )
    return value.rstrip("/")


class GenericOIDCProvider(AbstractOAuthProvider):
    """An OpenID Connect provider whose endpoints come from discovery.

    ``initialize()`` reads ``<issuer>/.well-known/openid-configuration`` unless the
    three endpoints were passed. When the issuer publishes a ``jwks_uri`` (or one is
    passed) and ``openid`` is among the scopes, the token response must carry an ID
    token whose signature, issuer, audience and lifetime check out, and whose ``sub``
    equals the userinfo ``sub``. The profile itself comes from the userinfo endpoint.
    ``CRUDAuth`` builds one for every ``OAuthCredentials(issuer=...)``.

    Args:
        client_id: The client id.
        client_secret: The client secret, or ``""`` for a public client.
        redirect_uri: The callback URL registered with the issuer.
        issuer: The issuer URL; https, except for localhost.
        provider_name: The name used in URLs and for the ``<name>_id`` column.
        scopes: Scopes to request; ``None`` keeps the defaults.
        authorize_endpoint: Skips discovery when given with the other two endpoints.
        token_endpoint: Skips discovery when given with the other two endpoints.
        userinfo_endpoint: Skips discovery when given with the other two endpoints.
        jwks_uri: Key set URL; overrides the one from discovery. Without one, no ID
            token is verified.
        transport: An ``httpx`` transport for outbound calls.

    Raises:
        ValueError: The issuer is not a valid issuer URL.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        issuer: str,
        provider_name: str = "oidc",
        scopes: Sequence[str] | None = None,
        authorize_endpoint: str = "",
        token_endpoint: str = "",
        userinfo_endpoint: str = "",
        jwks_uri: str = "",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            client_id,
            client_secret,
            redirect_uri,
            scopes=scopes if scopes is not None else OIDC_DEFAULT_SCOPES,
            authorize_endpoint=authorize_endpoint,
            token_endpoint=token_endpoint,
            userinfo_endpoint=userinfo_endpoint,
            provider_name=provider_name,
            transport=transport,
        )
        self.issuer = normalize_issuer(issuer)
        self.jwks_uri = jwks_uri
        self.discovery_document: dict[str, Any] | None = None
        self._id_tokens: IdTokenVerifier | None = None

    @classmethod
    async def from_discovery(
        cls,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        provider_name: str = "oidc",
        scopes: Sequence[str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> GenericOIDCProvider:
        """Build a provider and read its discovery document.

        Args:
            issuer: The issuer URL.
            client_id: The client id.
            client_secret: The client secret, or ``""`` for a public client.
            redirect_uri: The callback URL registered with the issuer.
            provider_name: The provider name.
            scopes: Scopes to request; ``None`` keeps the defaults.
            transport: An ``httpx`` transport for outbound calls.

        Returns:
            The provider with its endpoints resolved.

        Raises:
            httpx.HTTPError: The document could not be fetched.
            ValueError: The issuer or the document is invalid.

        Example:
            ```python
            provider = await GenericOIDCProvider.from_discovery(
                "https://sso.example.com", "client-id", "", "https://app.example.com/cb"
            )
            ```
        """
        provider = cls(
            client_id,
            client_secret,
            redirect_uri,
            issuer=issuer,
            provider_name=provider_name,
            scopes=scopes,
            transport=transport,
        )
        await provider.initialize()
        return provider

    @property
    def is_resolved(self) -> bool:
        """Whether all three endpoints are known."""
        return bool(self.authorize_endpoint and self.token_endpoint and self.userinfo_endpoint)

    async def initialize(self) -> None:
        """Read the discovery document once; skipped when all endpoints were given.

        Raises:
            httpx.HTTPError: The document could not be fetched.
            ValueError: The document is not an object, names another issuer, or lacks
                an endpoint.
            ImportError: The issuer signs ID tokens but ``cryptography`` is missing.
        """
        if self.is_resolved or self.discovery_document is not None:
            return
        url = f"{self.issuer}{OIDC_DISCOVERY_PATH}"
        async with self.http_client() as client:
            response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        if not isinstance(document, dict):
            raise ValueError(f"OIDC discovery document at {url} is not a JSON object")
        published = document.get("issuer")
        # A document naming another issuer could route sign-ins to someone else.
        if not isinstance(published, str) or published.rstrip("/") != self.issuer:
            raise ValueError(
                f"OIDC issuer mismatch: configured {self.issuer!r}, the discovery "
                f"document at {url} names {published!r}"
            )
        missing = [key for key in _ENDPOINT_KEYS if not document.get(key)]
        if missing:
            raise ValueError(f"OIDC discovery document at {url} lacks {', '.join(missing)}")

        self.authorize_endpoint = str(document["authorization_endpoint"])
        self.token_endpoint = str(document["token_endpoint"])
        self.userinfo_endpoint = str(document["userinfo_endpoint"])
        self.jwks_uri = self.jwks_uri or str(document.get("jwks_uri") or "")
        self.token_auth_method = _token_auth_method(
            document.get("token_endpoint_auth_methods_supported"), bool(self.client_secret)
        )
        self.discovery_document = document
        if self.verifies_id_tokens:
            _require_cryptography()
        logger.info("OIDC provider %s configured from %s", self.provider_name, url)

    def ensure_endpoints(self) -> None:
        """Raise ``RuntimeError`` until discovery has resolved the endpoints."""
        if not self.is_resolved:
            raise RuntimeError(NOT_INITIALIZED.format(name=self.provider_name))

    @property
    def verifies_id_tokens(self) -> bool:
        """Whether token responses must carry a valid ID token."""
        return bool(self.jwks_uri) and "openid" in self.scopes

    def id_token_verifier(self) -> IdTokenVerifier:
        """Return the verifier bound to this issuer, client id and key set."""
        if self._id_tokens is None:
            self._id_tokens = IdTokenVerifier(
                issuer=self.issuer, client_id=self.client_id, fetch_jwks=self._fetch_jwks
            )
        return self._id_tokens

    async def _fetch_jwks(self) -> Any:
        async with self.http_client() as client:
            response = await client.get(self.jwks_uri, headers={"Accept": "application/json"})
            response.raise_for_status()
            return response.json()

    async def fetch_profile(self, tokens: Any) -> OAuthUserInfo:
        """Verify the ID token, read userinfo and require both to name one subject.

        Args:
            tokens: The token endpoint's JSON body.

        Returns:
            The normalized profile.

        Raises:
            ValueError: No access token, an invalid or missing ID token, or a userinfo
                ``sub`` that differs from the ID token's.
            RuntimeError: Discovery has not run yet.
        """
        self.ensure_endpoints()
        access_token = read_access_token(tokens)
        claims: dict[str, Any] | None = None
        if self.verifies_id_tokens:
            claims = await self.id_token_verifier().verify(tokens.get("id_token"))
        user_info = await self.get_user_info(access_token)
        if not isinstance(user_info, dict):
            raise ValueError(f"{self.provider_name} userinfo is not a JSON object")
        # A userinfo response for a different subject than the ID token would let one
        # account's profile sign in as another (OpenID Connect Core 1.0, 5.3.2).
        if claims is not None and user_info.get("sub") != claims.get("sub"):
            raise ValueError("userinfo sub differs from the id_token sub")
        return await self.process_user_info(user_info)

    async def process_user_info(self, user_info: dict[str, Any]) -> OAuthUserInfo:
        """Normalize standard OpenID Connect claims.

        Args:
            user_info: The userinfo object.

        Raises:
            BadRequestException: The profile has no ``sub`` (a plain 400).
        """
        subject = user_info.get("sub")
        if isinstance(subject, bool) or not isinstance(subject, (str, int)) or subject == "":
            raise BadRequestException(
                f"The {self.provider_name} profile has no subject identifier (sub)."
            )
        return OAuthUserInfo(
            provider=self.provider_name,
            provider_user_id=str(subject),
            email=optional_text(user_info, "email"),
            # Truthy strings such as "false" must not pass for a verified address.
            email_verified=user_info.get("email_verified") is True,
            name=optional_text(user_info, "name"),
            given_name=optional_text(user_info, "given_name"),
            family_name=optional_text(user_info, "family_name"),
            username=optional_text(user_info, "preferred_username"),
            picture=optional_text(user_info, "picture"),
            raw_data=user_info,
        )


def _token_auth_method(supported: Any, has_secret: bool) -> str:
    if not has_secret or not isinstance(supported, list):
        return TOKEN_AUTH_POST
    if TOKEN_AUTH_POST in supported:
        return TOKEN_AUTH_POST
    if TOKEN_AUTH_BASIC in supported:
        return TOKEN_AUTH_BASIC
    return TOKEN_AUTH_POST


def _require_cryptography() -> None:
    from jwt.algorithms import has_crypto

    if not has_crypto:  # pragma: no cover - the test environment has cryptography
        raise ImportError(
            "Verifying OpenID Connect ID tokens needs cryptography; install it with: "
            "pip install 'crudauth[oauth]'"
        )
