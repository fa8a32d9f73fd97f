"""Pydantic models of the OAuth sign-in: credentials, profiles and stored state."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["OAuthCredentials", "OAuthState", "OAuthUserInfo"]


class OAuthCredentials(BaseModel):
    """Client credentials of one provider.

    An empty ``client_secret`` makes a public client that relies on PKCE alone.
    ``scopes`` replaces the provider's default scopes. ``issuer`` selects a
    discovery-configured OpenID Connect provider, whatever the provider name.
    """

    client_id: str
    client_secret: str = Field(default="", repr=False)
    scopes: list[str] | None = None
    issuer: str | None = None


class OAuthUserInfo(BaseModel):
    """A provider profile normalized to crudauth's fields.

    ``email_verified`` must be true only when the provider vouches for the address: it
    is the sole input that allows linking to or creating an account.
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

    ``created_at`` is informational: the store's TTL decides expiry.
    """

    state: str
    provider: str
    code_verifier: str | None = None
    redirect_to: str | None = None
    created_at: datetime = Field(default_factory=_utc_now)
