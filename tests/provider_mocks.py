"""Google and GitHub served in process: canned token and profile JSON over httpx.

``MockedProviders.install(test_app)`` swaps the outbound ``httpx`` transport of the
app's ``google`` and ``github`` providers, so the real provider classes run and no
request leaves the process. Queue one profile per expected code exchange.
"""

from __future__ import annotations

import secrets
from collections import deque
from typing import Any

import httpx
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import AuthUserMixin, OAuthCredentials, SessionTransport
from crudauth.oauth.constants import (
    GITHUB_EMAILS_ENDPOINT,
    GITHUB_TOKEN_ENDPOINT,
    GITHUB_USERINFO_ENDPOINT,
    GOOGLE_TOKEN_ENDPOINT,
    GOOGLE_USERINFO_ENDPOINT,
)
from crudauth.ratelimit import LockoutConfig, RateLimit
from oauth_support import BASE_URL, query

GOOGLE_TOKEN = GOOGLE_TOKEN_ENDPOINT
GOOGLE_USERINFO = GOOGLE_USERINFO_ENDPOINT
GITHUB_TOKEN = GITHUB_TOKEN_ENDPOINT
GITHUB_USER = GITHUB_USERINFO_ENDPOINT
GITHUB_EMAILS = GITHUB_EMAILS_ENDPOINT


def google_profile(email: str, *, verified: Any, sub: str = "google-1") -> dict[str, Any]:
    return {"sub": sub, "email": email, "email_verified": verified, "name": "Someone"}


def github_profile(email: str, *, verified: bool, user_id: int = 4242) -> dict[str, Any]:
    return {
        "id": user_id,
        "login": "someone",
        "emails": [{"email": email, "primary": True, "verified": verified}],
    }


class MockedProviders:
    """The token and profile endpoints of Google and GitHub with queued profiles."""

    def __init__(self) -> None:
        self.queued: dict[str, deque[dict[str, Any]]] = {"google": deque(), "github": deque()}
        self.issued: dict[str, dict[str, Any]] = {}
        self.exchanges = 0

    def queue(self, provider: str, profile: dict[str, Any]) -> None:
        self.queued[provider].append(profile)

    def install(self, test_app: Any) -> None:
        transport = httpx.MockTransport(self.handle)
        for provider in test_app.auth.oauth_providers.values():
            provider.transport = transport

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url.copy_with(query=None))
        if url in (GOOGLE_TOKEN, GITHUB_TOKEN):
            self.exchanges += 1
            provider = "google" if url == GOOGLE_TOKEN else "github"
            if not self.queued[provider]:
                return httpx.Response(400, json={"error": "invalid_grant"})
            token = secrets.token_urlsafe(16)
            self.issued[token] = self.queued[provider].popleft()
            return httpx.Response(200, json={"access_token": token, "token_type": "bearer"})
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        profile = self.issued.get(token)
        if profile is None:
            return httpx.Response(401, json={"error": "invalid_token"})
        if url == GOOGLE_USERINFO:
            return httpx.Response(200, json=profile)
        if url == GITHUB_USER:
            return httpx.Response(200, json={k: v for k, v in profile.items() if k != "emails"})
        if url == GITHUB_EMAILS:
            return httpx.Response(200, json=profile["emails"])
        return httpx.Response(404, json={"error": "not_found"})


def provider_model() -> type[Any]:
    """Return a user model with ``google_id`` and ``github_id`` columns."""

    class Base(DeclarativeBase):
        pass

    class User(Base, AuthUserMixin):
        __tablename__ = "users"
        google_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
        github_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)

    return User


async def provider_app(make_app: Any, mode: str = "redirect", **overrides: Any) -> Any:
    """Build an app with ``google`` and ``github`` mocked; ``extras["providers"]``."""
    kwargs: dict[str, Any] = {
        "transports": [SessionTransport(management_routes=True)],
        "oauth": {
            "google": OAuthCredentials(client_id="google-client", client_secret="g-secret"),
            "github": OAuthCredentials(client_id="github-client", client_secret="h-secret"),
        },
        "redirect_base_url": BASE_URL,
        "oauth_response_mode": mode,
        "lockout": LockoutConfig(max_attempts=1000),
        "rate_limits": {"oauth_authorize": RateLimit(1000, 3600)},
    }
    kwargs.update(overrides)
    test_app = await make_app(provider_model(), **kwargs)
    providers = MockedProviders()
    providers.install(test_app)
    test_app.extras["providers"] = providers
    return test_app


async def authorize(client: httpx.AsyncClient, provider: str) -> tuple[httpx.Response, str]:
    """Start a sign-in; return the authorize response and its ``state``.

    Redirect mode returns a 307 to the provider, JSON mode returns ``{"url": ...}``.
    """
    started = await client.get(f"/oauth/{provider}/authorize")
    if started.status_code == 307:
        return started, query(started.headers["location"])["state"]
    assert started.status_code == 200, started.text
    return started, query(started.json()["url"])["state"]


async def callback(
    client: httpx.AsyncClient, provider: str, state: str | None, code: str = "c-1"
) -> httpx.Response:
    params = {"code": code}
    if state is not None:
        params["state"] = state
    return await client.get(f"/oauth/{provider}/callback", params=params)


async def oauth_sign_in(client: httpx.AsyncClient, provider: str) -> httpx.Response:
    _started, state = await authorize(client, provider)
    return await callback(client, provider, state)
