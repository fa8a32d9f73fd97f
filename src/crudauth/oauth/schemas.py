"""Pydantic models of the OAuth sign-in: credentials, profiles and stored state."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["OAuthCredentials", "OAuthState", "OAuthUserInfo"]


class OAuthCredentials(BaseModel):
    """Client credentials of one provider.

    Attributes:
        client_id: The client id the provider issued.
        client_secret: The client secret; empty makes a public client that relies on
            PKCE alone. GitHub requires one. Hidden from ``repr``.
        scopes: Scopes to request instead of the provider's defaults.
        issuer: An OpenID Connect issuer URL. It selects a discovery-configured
            provider, whatever the provider name.

    Example:
        ```python
        auth = CRUDAuth(
            ...,
            oauth={
                "google": OAuthCredentials(client_id=..., client_secret=...),
                "corp": OAuthCredentials(client_id=..., issuer="https://sso.example.com"),
            },
        )
        ```
    """

    client_id: str
    client_secret: str = Field(default="", repr=False)
    scopes: list[str] | None = None
    issuer: str | None = None


class OAuthUserInfo(BaseModel):
    """A provider profile normalized to crudauth's fields.

    Attributes:
        provider: The provider name, as registered.
        provider_user_id: The provider's stable id of the account, stored in the
            ``<provider>_id`` column.
        email: The address the provider reports, if any.
        email_verified: Must be true only when the provider vouches for the address,
            because it is the sole input that allows linking to or creating an
            account.
        name: Full display name.
        given_name: Given name.
        family_name: Family name.
        username: The provider's user name, a seed for a local username.
        picture: URL of the profile picture.
        raw_data: The provider's raw profile.
    """

    provider: str
    provider_user_id: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    username: str | None = None
    picture: str | None = None
    raw_data: dict[str, Any] = Field(default_factory=dict)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class OAuthState(BaseModel):
    """The server-side record of one authorization attempt, keyed by ``state``.

    Attributes:
        state: The ``state`` value sent to the provider.
        provider: The provider name.
        code_verifier: The PKCE verifier, which never leaves the server.
        redirect_to: The same-site path to return to after sign-in.
        created_at: Creation time, informational only because the store's TTL
            decides expiry.
    """

    state: str
    provider: str
    code_verifier: str | None = None
    redirect_to: str | None = None
    created_at: datetime = Field(default_factory=_utc_now)
