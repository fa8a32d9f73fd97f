"""GitHub sign-in, including the lookup of the account's verified email."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from crudauth.oauth.constants import (
    GITHUB,
    GITHUB_AUTHORIZE_ENDPOINT,
    GITHUB_DEFAULT_SCOPES,
    GITHUB_EMAILS_ENDPOINT,
    GITHUB_TOKEN_ENDPOINT,
    GITHUB_USERINFO_ENDPOINT,
)
from crudauth.oauth.provider import AbstractOAuthProvider
from crudauth.oauth.providers.claims import optional_text, required_subject
from crudauth.oauth.schemas import OAuthUserInfo

if TYPE_CHECKING:
    import httpx

__all__ = ["GitHubOAuthProvider"]


class GitHubOAuthProvider(AbstractOAuthProvider):
    """GitHub's OAuth app flow: profile from ``/user``, email from ``/user/emails``.

    Registered as ``github``. GitHub requires a client secret.

    Args:
        client_id: The OAuth app's client id.
        client_secret: The OAuth app's client secret.
        redirect_uri: The callback URL registered with GitHub.
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
            scopes=scopes if scopes is not None else GITHUB_DEFAULT_SCOPES,
            authorize_endpoint=GITHUB_AUTHORIZE_ENDPOINT,
            token_endpoint=GITHUB_TOKEN_ENDPOINT,
            userinfo_endpoint=GITHUB_USERINFO_ENDPOINT,
            provider_name=GITHUB,
            transport=transport,
        )
        self.emails_endpoint = GITHUB_EMAILS_ENDPOINT

    async def exchange_code(
        self,
        code: str,
        code_verifier: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Exchange the code, always asking for JSON (GitHub defaults to a form).

        Args:
            code: The authorization code from the callback.
            code_verifier: The PKCE verifier, or ``None``.
            headers: More request headers; ``Accept`` is always JSON.
        """
        return await super().exchange_code(
            code, code_verifier, {**(headers or {}), "Accept": "application/json"}
        )

    async def get_user_info(self, access_token: str) -> Any:
        """Fetch the profile, then attach the ``emails`` list if that call succeeds.

        Args:
            access_token: GitHub's access token.

        Raises:
            httpx.HTTPStatusError: The ``/user`` call returned a status outside 2xx.
            httpx.HTTPError: A request failed or timed out.
        """
        self.ensure_endpoints()
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        async with self.http_client() as client:
            response = await client.get(self.userinfo_endpoint, headers=headers)
            response.raise_for_status()
            profile = response.json()
            emails_response = await client.get(self.emails_endpoint, headers=headers)
        # Without the user:email scope the list is refused; the profile is still used.
        if isinstance(profile, dict) and emails_response.status_code == 200:
            profile["emails"] = emails_response.json()
        return profile

    async def process_user_info(self, user_info: dict[str, Any]) -> OAuthUserInfo:
        """Normalize GitHub's profile and pick its email by the verified-first rules.

        A verified primary address wins, then any verified one, then the primary
        (reported unverified).

        Args:
            user_info: The ``/user`` object with the attached ``emails`` list.

        Raises:
            ValueError: The profile has no ``id``.
        """
        email, verified = _select_github_email(user_info.get("emails"))
        return OAuthUserInfo(
            provider=self.provider_name,
            provider_user_id=required_subject(user_info, "id", self.provider_name),
            email=email,
            email_verified=verified,
            name=optional_text(user_info, "name"),
            given_name=None,
            family_name=None,
            username=optional_text(user_info, "login"),
            picture=optional_text(user_info, "avatar_url"),
            raw_data=user_info,
        )


def _select_github_email(emails: Any) -> tuple[str | None, bool]:
    """Pick the address and whether it is verified from GitHub's ``/user/emails`` list.

    First match wins: a verified primary, any verified entry, the primary (reported
    unverified), then the first entry with its own flag. Only ``verified`` equal to
    JSON true counts, so an unverified primary never yields a verified address.
    """
    entries = [
        entry
        for entry in (emails if isinstance(emails, list) else [])
        if isinstance(entry, dict) and isinstance(entry.get("email"), str) and entry["email"]
    ]
    if not entries:
        return None, False
    for entry in entries:
        if entry.get("primary") is True and entry.get("verified") is True:
            return entry["email"], True
    for entry in entries:
        if entry.get("verified") is True:
            return entry["email"], True
    for entry in entries:
        if entry.get("primary") is True:
            return entry["email"], False
    first = entries[0]
    return first["email"], first.get("verified") is True
