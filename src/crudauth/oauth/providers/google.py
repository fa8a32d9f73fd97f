"""Google sign-in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from crudauth.oauth.constants import (
    GOOGLE,
    GOOGLE_AUTHORIZE_ENDPOINT,
    GOOGLE_DEFAULT_SCOPES,
    GOOGLE_TOKEN_ENDPOINT,
    GOOGLE_USERINFO_ENDPOINT,
)
from crudauth.oauth.provider import AbstractOAuthProvider
from crudauth.oauth.providers.claims import optional_text, required_subject
from crudauth.oauth.schemas import OAuthUserInfo

if TYPE_CHECKING:
    import httpx

__all__ = ["GoogleOAuthProvider"]


class GoogleOAuthProvider(AbstractOAuthProvider):
    """Google's OAuth 2.0 endpoints with the OpenID Connect userinfo profile.

    Registered as ``google``. The authorization URL requests no offline access and no
    forced consent, because crudauth never uses a provider refresh token.

    Args:
        client_id: The OAuth client id.
        client_secret: The OAuth client secret.
        redirect_uri: The callback URL registered with Google.
        scopes: Scopes to request; ``None`` keeps the defaults.
        transport: An ``httpx`` transport for outbound calls.

    Raises:
        ValueError: ``client_secret`` is empty.
    """

    requires_client_secret: ClassVar[bool] = True

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        scopes: Sequence[str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            client_id,
            client_secret,
            redirect_uri,
            scopes=scopes if scopes is not None else GOOGLE_DEFAULT_SCOPES,
            authorize_endpoint=GOOGLE_AUTHORIZE_ENDPOINT,
            token_endpoint=GOOGLE_TOKEN_ENDPOINT,
            userinfo_endpoint=GOOGLE_USERINFO_ENDPOINT,
            provider_name=GOOGLE,
            transport=transport,
        )

    async def process_user_info(self, user_info: dict[str, Any]) -> OAuthUserInfo:
        """Normalize Google's userinfo; the email counts as verified only on JSON true.

        Args:
            user_info: The userinfo object.

        Raises:
            ValueError: The profile has no ``sub``.
        """
        return OAuthUserInfo(
            provider=self.provider_name,
            provider_user_id=required_subject(user_info, "sub", self.provider_name),
            email=optional_text(user_info, "email"),
            # Truthy strings such as "false" must not pass for a verified address.
            email_verified=user_info.get("email_verified") is True,
            name=optional_text(user_info, "name"),
            given_name=optional_text(user_info, "given_name"),
            family_name=optional_text(user_info, "family_name"),
            username=None,
            picture=optional_text(user_info, "picture"),
            raw_data=user_info,
        )
