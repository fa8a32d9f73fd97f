"""Helpers for OAuth tests: the fake provider on loopback and the browser round trip."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import AuthUserMixin, OAuthCredentials, make_auth_identity

ROOT = Path(__file__).resolve().parents[1]
CLIENT_ID = "crudauth-test"
CLIENT_SECRET = "fake-client-secret"
BASE_URL = "https://testserver"


def fake_provider_module() -> ModuleType:
    """Import ``examples/fake_oidc_provider.py`` once and return it."""
    name = "fake_oidc_provider"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def oidc_model() -> type[Any]:
    """Return a user model with the default columns plus ``oidc_id``."""

    class Base(DeclarativeBase):
        pass

    class User(Base, AuthUserMixin):
        __tablename__ = "users"
        oidc_id: Mapped[str | None] = mapped_column(
            String(64), unique=True, index=True, default=None
        )
        full_name: Mapped[str | None] = mapped_column(String(100), default=None)

    return User


def mfa_oidc_model() -> type[Any]:
    """Return a user model with the MFA columns plus ``oidc_id``."""

    class Base(DeclarativeBase):
        pass

    class User(Base, make_auth_identity(mfa=True)):  # type: ignore[misc]
        __tablename__ = "users"
        oidc_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)

    return User


def oidc_settings(server: Any, **credentials: Any) -> dict[str, Any]:
    """Return ``CRUDAuth`` keyword arguments for an ``oidc`` provider at ``server``."""
    values = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "issuer": server.base_url}
    values.update(credentials)
    return {"oauth": {"oidc": OAuthCredentials(**values)}, "redirect_base_url": BASE_URL}


def query(url: str) -> dict[str, str]:
    """Return the single-valued query parameters of ``url``."""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


async def visit_provider(authorize_url: str) -> httpx.Response:
    """GET the provider's authorize URL over real HTTP, as the browser would."""
    async with httpx.AsyncClient() as browser:
        return await browser.get(authorize_url)


async def sign_in(
    client: httpx.AsyncClient,
    provider: str = "oidc",
    redirect_to: str | None = "/dashboard",
) -> httpx.Response:
    """Run authorize, the provider hop and the callback; return the callback response.

    The fake provider must have an identity or an error queued.
    """
    params = {"redirect_to": redirect_to} if redirect_to is not None else {}
    started = await client.get(f"/oauth/{provider}/authorize", params=params)
    assert started.status_code == 307, started.text
    at_provider = await visit_provider(started.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    return await client.get(at_provider.headers["location"])


def callback_error(response: httpx.Response) -> str | None:
    """Return the ``error`` code a failed redirect-mode callback carries."""
    return query(response.headers.get("location", "")).get("error")
