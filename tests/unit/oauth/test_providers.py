"""Google and GitHub adapters, the factory and the provider port, mocked at httpx."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from crudauth.oauth import AbstractOAuthProvider, OAuthProviderFactory, OAuthUserInfo
from crudauth.oauth.providers import GitHubOAuthProvider, GoogleOAuthProvider
from crudauth.oauth.providers.github import _select_github_email

REDIRECT = "https://app.example.com/oauth/google/callback"


def google(**kwargs: Any) -> GoogleOAuthProvider:
    return GoogleOAuthProvider("id", "secret", REDIRECT, **kwargs)


def test_import_registers_builtins() -> None:
    import crudauth  # noqa: F401

    assert OAuthProviderFactory.get_provider_class("google") is GoogleOAuthProvider
    assert OAuthProviderFactory.get_provider_class("github") is GitHubOAuthProvider
    assert OAuthProviderFactory.get_provider_class("oidc") is None


def test_factory_creates_and_rejects_unknown() -> None:
    provider = OAuthProviderFactory.create_provider("google", "id", "secret", REDIRECT)
    assert isinstance(provider, GoogleOAuthProvider)
    assert provider.scopes[0] == "openid"
    scoped = OAuthProviderFactory.create_provider(
        "github", "id", "secret", REDIRECT, scopes=["read:user"]
    )
    assert scoped.scopes == ["read:user"]
    with pytest.raises(ValueError, match="Unknown OAuth provider: 'gitlab'"):
        OAuthProviderFactory.create_provider("gitlab", "id", "secret", REDIRECT)


def test_custom_provider_registration() -> None:
    class Acme(AbstractOAuthProvider):
        def __init__(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
            super().__init__(
                client_id,
                client_secret,
                redirect_uri,
                scopes=["profile"],
                authorize_endpoint="https://acme.test/auth",
                token_endpoint="https://acme.test/token",
                userinfo_endpoint="https://acme.test/me",
                provider_name="acme",
            )

        async def process_user_info(self, user_info: dict[str, Any]) -> OAuthUserInfo:
            return OAuthUserInfo(provider="acme", provider_user_id=str(user_info["uid"]))

    OAuthProviderFactory.register_provider("acme", Acme)
    try:
        provider = OAuthProviderFactory.create_provider("acme", "id", "", REDIRECT)
        assert isinstance(provider, Acme)
        assert provider.client_secret == ""
    finally:
        OAuthProviderFactory._providers.pop("acme")


@pytest.mark.parametrize("provider_class", [GoogleOAuthProvider, GitHubOAuthProvider])
def test_builtin_requires_secret(provider_class: Any) -> None:
    with pytest.raises(ValueError, match="requires a client_secret"):
        provider_class("id", "", REDIRECT)


def test_authorization_url_has_pkce() -> None:
    result = google().get_authorization_url(extra_params={"login_hint": "a@b.c"})
    parts = urlsplit(result["url"])
    params = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert result["url"].startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert params["state"] == result["state"]
    assert params["response_type"] == "code"
    assert params["redirect_uri"] == REDIRECT
    assert params["login_hint"] == "a@b.c"
    digest = hashlib.sha256(result["code_verifier"].encode()).digest()
    assert params["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert params["code_challenge_method"] == "S256"
    # crudauth never uses a provider refresh token, so it asks for no offline access.
    assert "access_type" not in params
    assert "prompt" not in params


def test_authorization_url_without_pkce() -> None:
    result = google().get_authorization_url(state="fixed", pkce=False)
    assert "code_verifier" not in result
    assert "code_challenge" not in result["url"]
    assert "state=fixed" in result["url"]


def test_state_and_verifier_sizes() -> None:
    assert len(AbstractOAuthProvider.generate_state()) == 43
    codes = AbstractOAuthProvider.generate_pkce_codes()
    assert len(codes["code_verifier"]) == 86
    assert "=" not in codes["code_challenge"]


async def test_google_requires_sub() -> None:
    with pytest.raises(ValueError, match="sub"):
        await google().process_user_info({"email": "a@example.com"})


async def test_google_normalizes_profile() -> None:
    info = await google().process_user_info(
        {"sub": "12345", "email": "A@example.com", "email_verified": True, "name": "A B"}
    )
    assert info.provider_user_id == "12345"
    assert info.email == "A@example.com"
    assert info.email_verified is True
    assert info.username is None
    assert info.name == "A B"


@pytest.mark.parametrize("flag", ["true", 1, "yes", None])
async def test_google_verified_only_on_json_true(flag: Any) -> None:
    info = await google().process_user_info({"sub": "1", "email": "a@x.io", "email_verified": flag})
    assert info.email_verified is False


def recording_transport(responses: dict[str, httpx.Response], seen: list[httpx.Request]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses[str(request.url)]

    return httpx.MockTransport(handle)


async def test_exchange_code_posts_form() -> None:
    seen: list[httpx.Request] = []
    transport = recording_transport(
        {"https://oauth2.googleapis.com/token": httpx.Response(200, json={"access_token": "t"})},
        seen,
    )
    tokens = await google(transport=transport).exchange_code("the-code", "the-verifier")
    assert tokens == {"access_token": "t"}
    body = parse_qs(seen[0].content.decode())
    assert body["code"] == ["the-code"]
    assert body["code_verifier"] == ["the-verifier"]
    assert body["client_secret"] == ["secret"]
    assert body["grant_type"] == ["authorization_code"]
    assert seen[0].headers["accept"] == "application/json"


async def test_exchange_code_basic_auth() -> None:
    seen: list[httpx.Request] = []
    transport = recording_transport(
        {"https://oauth2.googleapis.com/token": httpx.Response(200, json={"access_token": "t"})},
        seen,
    )
    provider = google(transport=transport)
    provider.token_auth_method = "client_secret_basic"
    await provider.exchange_code("code")
    expected = base64.b64encode(b"id:secret").decode()
    assert seen[0].headers["authorization"] == f"Basic {expected}"
    assert "client_secret" not in seen[0].content.decode()


async def test_exchange_code_raises_on_error_status() -> None:
    transport = recording_transport(
        {"https://oauth2.googleapis.com/token": httpx.Response(500, json={})}, []
    )
    with pytest.raises(httpx.HTTPStatusError):
        await google(transport=transport).exchange_code("code")


async def test_fetch_profile_requires_access_token() -> None:
    with pytest.raises(ValueError, match="access_token"):
        await google().fetch_profile({"error": "bad_verification_code"})
    with pytest.raises(ValueError, match="JSON object"):
        await google().fetch_profile(["access_token"])


async def test_github_attaches_emails() -> None:
    seen: list[httpx.Request] = []
    emails = [{"email": "me@example.com", "primary": True, "verified": True}]
    transport = recording_transport(
        {
            "https://api.github.com/user": httpx.Response(200, json={"id": 7, "login": "me"}),
            "https://api.github.com/user/emails": httpx.Response(200, json=emails),
        },
        seen,
    )
    provider = GitHubOAuthProvider("id", "secret", REDIRECT, transport=transport)
    profile = await provider.get_user_info("token")
    assert profile["emails"] == emails
    assert seen[0].headers["authorization"] == "Bearer token"
    info = await provider.process_user_info(profile)
    assert info.provider_user_id == "7"
    assert info.username == "me"
    assert info.email == "me@example.com"
    assert info.email_verified is True


async def test_github_emails_refused_keeps_profile() -> None:
    transport = recording_transport(
        {
            "https://api.github.com/user": httpx.Response(200, json={"id": 7}),
            "https://api.github.com/user/emails": httpx.Response(403, json={}),
        },
        [],
    )
    provider = GitHubOAuthProvider("id", "secret", REDIRECT, transport=transport)
    profile = await provider.get_user_info("token")
    assert "emails" not in profile
    info = await provider.process_user_info(profile)
    assert info.email is None
    assert info.email_verified is False


async def test_github_requires_id() -> None:
    provider = GitHubOAuthProvider("id", "secret", REDIRECT)
    with pytest.raises(ValueError, match="id"):
        await provider.process_user_info({"login": "me"})


PRIMARY_UNVERIFIED = {"email": "p@x.io", "primary": True, "verified": False}
SECONDARY_VERIFIED = {"email": "s@x.io", "primary": False, "verified": True}
PRIMARY_VERIFIED = {"email": "pv@x.io", "primary": True, "verified": True}
OTHER_UNVERIFIED = {"email": "o@x.io", "primary": False, "verified": False}


@pytest.mark.parametrize(
    ("emails", "expected"),
    [
        ([SECONDARY_VERIFIED, PRIMARY_VERIFIED], ("pv@x.io", True)),
        ([PRIMARY_UNVERIFIED, SECONDARY_VERIFIED], ("s@x.io", True)),
        ([OTHER_UNVERIFIED, PRIMARY_UNVERIFIED], ("p@x.io", False)),
        ([OTHER_UNVERIFIED], ("o@x.io", False)),
        ([{"email": "t@x.io", "primary": True, "verified": "true"}], ("t@x.io", False)),
        ([], (None, False)),
        (None, (None, False)),
        ("not a list", (None, False)),
    ],
)
def test_select_github_email(emails: Any, expected: tuple[str | None, bool]) -> None:
    assert _select_github_email(emails) == expected
