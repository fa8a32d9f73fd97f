"""CRUDAuth(oauth=...) validation, the accessors and the route-path helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import (
    AuthUserMixin,
    BearerTransport,
    CRUDAuth,
    IdentityConfig,
    OAuthAccountService,
    OAuthCredentials,
    SessionTransport,
    make_auth_identity,
)
from crudauth.oauth.paths import callback_url, is_redirect_target, resolve_oauth_paths
from crudauth.oauth.providers import GenericOIDCProvider, GoogleOAuthProvider


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):
    __tablename__ = "users"


class WithCorp(Base, AuthUserMixin):
    __tablename__ = "corp_users"
    corp_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)


class WithGitlab(Base, AuthUserMixin):
    __tablename__ = "gitlab_users"
    gitlab_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)


class NoOAuth(Base, make_auth_identity(oauth=False)):  # type: ignore[misc]
    __tablename__ = "no_oauth_users"


async def no_db() -> AsyncIterator[None]:
    yield None


GOOGLE = {"google": OAuthCredentials(client_id="id", client_secret="secret")}


def build(**kwargs: Any) -> CRUDAuth:
    kwargs.setdefault("user_model", User)
    kwargs.setdefault("redirect_base_url", "https://app.example.com/")
    kwargs.setdefault("oauth", GOOGLE)
    return CRUDAuth(session=no_db, SECRET_KEY="k" * 40, warn_on_memory_backend=False, **kwargs)


def route_paths(router: APIRouter) -> list[str]:
    app = FastAPI()
    app.include_router(router)
    return list(app.openapi()["paths"])


def test_oauth_wires_service_and_providers() -> None:
    auth = build()
    assert isinstance(auth.oauth, OAuthAccountService)
    provider = auth.oauth_providers["google"]
    assert isinstance(provider, GoogleOAuthProvider)
    assert provider.redirect_uri == "https://app.example.com/oauth/google/callback"
    with pytest.raises(TypeError):
        auth.oauth_providers["x"] = provider  # type: ignore[index]
    assert route_paths(auth.oauth_router) == [
        "/oauth/{provider}/authorize",
        "/oauth/{provider}/callback",
    ]


def test_router_places_oauth_after_transports() -> None:
    auth = build(transports=[BearerTransport(), SessionTransport()])
    paths = route_paths(auth.router)
    assert paths.index("/oauth/{provider}/authorize") > paths.index("/login")
    assert paths.index("/oauth/{provider}/authorize") > paths.index("/token")


def test_without_oauth() -> None:
    auth = build(oauth=None)
    assert auth.oauth is None
    assert dict(auth.oauth_providers) == {}
    with pytest.raises(RuntimeError, match="OAuth is not configured"):
        _ = auth.oauth_router


def test_issuer_selects_oidc() -> None:
    auth = build(
        user_model=WithCorp,
        oauth={"corp": OAuthCredentials(client_id="c", issuer="https://id.corp.example/")},
    )
    provider = auth.oauth_providers["corp"]
    assert isinstance(provider, GenericOIDCProvider)
    assert provider.issuer == "https://id.corp.example"
    assert provider.provider_name == "corp"


def test_secret_not_in_repr() -> None:
    assert "secret" not in repr(OAuthCredentials(client_id="id", client_secret="secret"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"identity": IdentityConfig(login=["username"])}, "requires 'email'"),
        ({"transports": [BearerTransport()]}, "needs a SessionTransport"),
        ({"redirect_base_url": ""}, "redirect_base_url"),
        ({"redirect_base_url": None}, "redirect_base_url"),
        ({"oauth_default_redirect": "//evil.com"}, "oauth_default_redirect"),
        ({"oauth_default_redirect": "javascript:alert(1)"}, "oauth_default_redirect"),
        ({"oauth_paths": {"prefx": "/x"}}, "unknown key 'prefx'"),
        ({"oauth_paths": {"callback_path": "/callback"}}, "{provider}"),
        ({"oauth_response_mode": "html"}, "oauth_response_mode"),
        ({"user_model": NoOAuth}, "google_id"),
        (
            {"oauth": {"github": OAuthCredentials(client_id="id")}},
            "requires a client_secret",
        ),
    ],
)
def test_invalid_settings_raise(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        build(**kwargs)


def test_unknown_provider_name_raises() -> None:
    with pytest.raises(ValueError, match="Unknown OAuth provider: 'gitlab'"):
        build(user_model=WithGitlab, oauth={"gitlab": OAuthCredentials(client_id="i")})


@pytest.mark.parametrize(
    "target", ["/home", "https://app.example.com/welcome", "http://localhost:3000"]
)
def test_redirect_target_accepted(target: str) -> None:
    assert is_redirect_target(target) is True
    build(oauth_default_redirect=target)


@pytest.mark.parametrize("target", ["", "//evil.com", "ftp://x", "https://", "home", "/\\x"])
def test_redirect_target_rejected(target: str) -> None:
    assert is_redirect_target(target) is False


def test_paths_resolution_and_callback_url() -> None:
    paths = resolve_oauth_paths({"prefix": "auth/", "callback_path": "{provider}/done"})
    assert paths["prefix"] == "/auth"
    url = callback_url("https://app.example.com/api//", paths, "google")
    assert url == "https://app.example.com/api/auth/google/done"
    assert callback_url("https://x.io", resolve_oauth_paths(None), "github") == (
        "https://x.io/oauth/github/callback"
    )
