"""The provider port: the authorization-code flow with PKCE over ``httpx``."""

from __future__ import annotations

import base64
import hashlib
import secrets
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from crudauth.oauth.constants import (
    HTTPX_MISSING,
    OAUTH_HTTP_TIMEOUT_SECONDS,
    PKCE_VERIFIER_BYTES,
    STATE_BYTES,
    TOKEN_AUTH_BASIC,
    TOKEN_AUTH_POST,
)
from crudauth.oauth.schemas import OAuthUserInfo

if TYPE_CHECKING:
    import httpx

__all__ = ["AbstractOAuthProvider", "import_httpx", "read_access_token"]


def import_httpx() -> Any:
    """Import ``httpx`` on first use, so crudauth runs without the ``oauth`` extra.

    Returns:
        The ``httpx`` module.

    Raises:
        ImportError: httpx is not installed; the message gives the install command.
    """
    try:
        import httpx
    except ImportError as exc:  # pragma: no cover - the test environment has httpx
        raise ImportError(HTTPX_MISSING) from exc
    return httpx


class AbstractOAuthProvider(ABC):
    """One identity provider: builds the authorization URL and calls its endpoints.

    Subclasses pass the endpoints to this constructor and implement
    ``process_user_info``. The registered subclass's own constructor must accept
    ``(client_id, client_secret, redirect_uri)`` and an optional ``scopes=`` keyword,
    because that is the call ``OAuthProviderFactory.create_provider`` makes.

    Attributes:
        requires_client_secret: Whether an empty client secret is a configuration
            error.
        token_auth_method: How the token endpoint receives the client secret:
            ``"client_secret_post"`` (in the form) or ``"client_secret_basic"``.
        http_timeout: Bound of each outbound call in seconds.

    Args:
        client_id: The client id.
        client_secret: The client secret, or ``""`` for a public client.
        redirect_uri: The callback URL registered with the provider.
        scopes: Scopes to request.
        authorize_endpoint: URL of the consent screen.
        token_endpoint: URL of the token endpoint.
        userinfo_endpoint: URL of the userinfo endpoint.
        provider_name: The provider name, as registered.
        transport: An ``httpx`` transport for outbound calls (a proxy or a test
            double); ``None`` uses the default network transport.

    Raises:
        ValueError: ``requires_client_secret`` is set and ``client_secret`` is empty.

    Example:
        ```python
        class GitLabProvider(AbstractOAuthProvider):
            def __init__(self, client_id, client_secret, redirect_uri, scopes=None):
                super().__init__(
                    client_id,
                    client_secret,
                    redirect_uri,
                    scopes=scopes or ["read_user"],
                    authorize_endpoint="https://gitlab.com/oauth/authorize",
                    token_endpoint="https://gitlab.com/oauth/token",
                    userinfo_endpoint="https://gitlab.com/api/v4/user",
                    provider_name="gitlab",
                )

            async def process_user_info(self, user_info):
                return OAuthUserInfo(
                    provider="gitlab",
                    provider_user_id=str(user_info["id"]),
                    email=user_info.get("email"),
                    email_verified=False,
                )
        ```
    """

    #: Whether an empty client secret is a configuration error.
    requires_client_secret: ClassVar[bool] = False
    #: How the token endpoint receives the client secret.
    token_auth_method: str = TOKEN_AUTH_POST
    http_timeout: float = OAUTH_HTTP_TIMEOUT_SECONDS

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        scopes: Sequence[str],
        authorize_endpoint: str,
        token_endpoint: str,
        userinfo_endpoint: str,
        provider_name: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if self.requires_client_secret and not client_secret:
            raise ValueError(
                f"OAuth provider {provider_name!r} requires a client_secret; set it in "
                f"OAuthCredentials(client_secret=...)"
            )
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scopes = list(scopes)
        self.authorize_endpoint = authorize_endpoint
        self.token_endpoint = token_endpoint
        self.userinfo_endpoint = userinfo_endpoint
        self.provider_name = provider_name
        self.transport = transport

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider_name={self.provider_name!r})"

    async def initialize(self) -> None:  # noqa: B027 - optional hook
        """Resolve what the provider needs before its first request; a no-op here."""

    # -- authorization request ---------------------------------------------------------

    @staticmethod
    def generate_state() -> str:
        """Return a fresh ``state`` value: URL-safe text from 32 random bytes."""
        return secrets.token_urlsafe(STATE_BYTES)

    @staticmethod
    def generate_pkce_codes() -> dict[str, str]:
        """Return a PKCE pair: ``code_verifier`` and its S256 ``code_challenge``."""
        verifier = secrets.token_urlsafe(PKCE_VERIFIER_BYTES)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return {"code_verifier": verifier, "code_challenge": challenge}

    def get_authorization_url(
        self,
        state: str | None = None,
        pkce: bool = True,
        extra_params: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """Build the URL that sends the browser to the provider's consent screen.

        Args:
            state: The ``state`` value; ``None`` generates a fresh one.
            pkce: Add an S256 PKCE challenge.
            extra_params: More query parameters; they override the built ones.

        Returns:
            ``{"url", "state"}`` plus ``"code_verifier"`` when ``pkce``. The verifier
            must stay on the server, because only its challenge goes into the URL.

        Raises:
            RuntimeError: An endpoint is not known yet.
        """
        self.ensure_endpoints()
        state = state or self.generate_state()
        params: dict[str, str] = {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "state": state,
            "scope": " ".join(self.scopes),
        }
        result = {"state": state}
        if pkce:
            codes = self.generate_pkce_codes()
            params["code_challenge"] = codes["code_challenge"]
            params["code_challenge_method"] = "S256"
            result["code_verifier"] = codes["code_verifier"]
        params.update(extra_params or {})
        result["url"] = f"{self.authorize_endpoint}?{urlencode(params)}"
        return result

    # -- outbound calls ----------------------------------------------------------------

    def ensure_endpoints(self) -> None:
        """Raise ``RuntimeError`` unless the three endpoints are known."""
        missing = [
            name
            for name in ("authorize_endpoint", "token_endpoint", "userinfo_endpoint")
            if not getattr(self, name)
        ]
        if missing:
            raise RuntimeError(f"OAuth provider {self.provider_name!r} has no {', '.join(missing)}")

    def http_client(self) -> httpx.AsyncClient:
        """Return a new client for one exchange; redirects are never followed."""
        httpx_module = import_httpx()
        client: httpx.AsyncClient = httpx_module.AsyncClient(
            transport=self.transport, timeout=self.http_timeout, follow_redirects=False
        )
        return client

    def token_request(
        self, code: str, code_verifier: str | None
    ) -> tuple[dict[str, str], tuple[str, str] | None]:
        """Return the token request's form and its HTTP Basic credentials, if any.

        Args:
            code: The authorization code from the callback.
            code_verifier: The PKCE verifier, or ``None``.

        Returns:
            ``(form, basic)``. The secret goes into ``basic`` for
            ``client_secret_basic`` and into the form otherwise; without a secret
            ``basic`` is ``None``.
        """
        form = {
            "client_id": self.client_id,
            "code": code,
            "redirect_uri": self.redirect_uri,
            "grant_type": "authorization_code",
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        basic: tuple[str, str] | None = None
        if self.client_secret:
            if self.token_auth_method == TOKEN_AUTH_BASIC:
                basic = (self.client_id, self.client_secret)
            else:
                form["client_secret"] = self.client_secret
        return form, basic

    async def exchange_code(
        self,
        code: str,
        code_verifier: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """POST the authorization code to the token endpoint and return its JSON.

        Args:
            code: The authorization code from the callback.
            code_verifier: The PKCE verifier, or ``None``.
            headers: More request headers.

        Returns:
            The decoded JSON body.

        Raises:
            httpx.HTTPStatusError: The endpoint returned a status outside 2xx.
            httpx.HTTPError: The request failed or timed out.
            ValueError: The body is not JSON.
            RuntimeError: An endpoint is not known yet.
        """
        self.ensure_endpoints()
        form, basic = self.token_request(code, code_verifier)
        request_headers = {"Accept": "application/json", **(headers or {})}
        extra: dict[str, Any] = {"auth": basic} if basic is not None else {}
        async with self.http_client() as client:
            response = await client.post(
                self.token_endpoint, data=form, headers=request_headers, **extra
            )
            response.raise_for_status()
            return response.json()

    async def get_user_info(self, access_token: str) -> Any:
        """GET the userinfo endpoint with the access token and return its JSON.

        Args:
            access_token: The provider's access token.

        Returns:
            The decoded JSON body.

        Raises:
            httpx.HTTPStatusError: The endpoint returned a status outside 2xx.
            httpx.HTTPError: The request failed or timed out.
            ValueError: The body is not JSON.
        """
        self.ensure_endpoints()
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        async with self.http_client() as client:
            response = await client.get(self.userinfo_endpoint, headers=headers)
            response.raise_for_status()
            return response.json()

    async def fetch_profile(self, tokens: Any) -> OAuthUserInfo:
        """Turn a token response into a normalized profile.

        Checks the response shape, reads the userinfo endpoint and normalizes it.
        Providers that verify more (an OpenID Connect ID token) override this.

        Args:
            tokens: The token endpoint's JSON body.

        Returns:
            The normalized profile.

        Raises:
            ValueError: No access token, or a userinfo body that is not an object.
            httpx.HTTPError: The userinfo request failed.
        """
        access_token = read_access_token(tokens)
        user_info = await self.get_user_info(access_token)
        if not isinstance(user_info, dict):
            raise ValueError(f"{self.provider_name} userinfo is not a JSON object")
        return await self.process_user_info(user_info)

    @abstractmethod
    async def process_user_info(self, user_info: dict[str, Any]) -> OAuthUserInfo:
        """Normalize the provider's raw profile.

        Args:
            user_info: The userinfo JSON object.

        Returns:
            The profile, with ``email_verified`` true only when the provider vouches
            for the address.

        Raises:
            ValueError: The profile has no usable subject id.
        """


def read_access_token(tokens: Any) -> str:
    """Return the access token of a token response.

    Args:
        tokens: The token endpoint's JSON body.

    Raises:
        ValueError: The body is not an object or has no non-empty ``access_token``.
    """
    # GitHub reports a failed exchange as HTTP 200 with an error body and no token.
    if not isinstance(tokens, dict):
        raise ValueError("token response is not a JSON object")
    access_token = tokens.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise ValueError("token response has no access_token")
    return access_token
