"""The endpoint table lists every route of a fully configured app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy.orm import DeclarativeBase

from crudauth import (
    BearerTransport,
    CRUDAuth,
    EmailConfig,
    EmailContext,
    EmailSender,
    MfaConfig,
    OAuthCredentials,
    SessionTransport,
    SudoConfig,
    make_auth_identity,
)
from crudauth.passkeys import PasskeyConfig

ENDPOINTS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "endpoints.md"
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


class DiscardingSender(EmailSender):
    async def send(
        self, *, to: str, subject: str, body: str, kind: Any, context: EmailContext
    ) -> None:
        return None


async def no_database() -> AsyncIterator[None]:
    yield None


def full_app() -> FastAPI:
    """Build an app with every route family crudauth can mount; no request is served."""

    class Base(DeclarativeBase):
        pass

    class User(Base, make_auth_identity(mfa=True)):  # type: ignore[misc]
        __tablename__ = "users"

    auth = CRUDAuth(
        session=no_database,
        user_model=User,
        SECRET_KEY="endpoint-table-secret-key-0123456789-abcdef",
        transports=[SessionTransport(management_routes=True), BearerTransport()],
        email=EmailConfig(sender=DiscardingSender(), frontend_url="https://app.example.com"),
        oauth={"google": OAuthCredentials(client_id="client-id", client_secret="secret")},
        redirect_base_url="https://app.example.com",
        mfa=MfaConfig(issuer="Example App", encryption_key=Fernet.generate_key().decode()),
        sudo=SudoConfig(),
        passkeys=PasskeyConfig(
            rp_id="app.example.com", rp_name="Example App", origins=["https://app.example.com"]
        ),
        warn_on_memory_backend=False,
    )
    app = FastAPI()
    app.include_router(auth.router)
    return app


def schema_routes(app: FastAPI) -> list[str]:
    """Return every operation of the OpenAPI schema as ``METHOD /path``."""
    routes = []
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            if method in HTTP_METHODS:
                routes.append(f"{method.upper()} {path}")
    return routes


def documented_routes() -> set[str]:
    """Return every ``METHOD /path`` written in a code span of the endpoint table."""
    text = ENDPOINTS_PAGE.read_text()
    pattern = r"`((?:GET|POST|PUT|PATCH|DELETE) /[^`\s]*)`"
    return set(re.findall(pattern, text))


def test_full_app_mounts_every_feature() -> None:
    routes = schema_routes(full_app())
    for expected in (
        "POST /login",
        "POST /token",
        "GET /sessions",
        "POST /password/reset-confirm",
        "POST /email/change-confirm",
        "GET /oauth/{provider}/callback",
        "POST /mfa/verify",
    ):
        assert expected in routes, f"{expected} is missing from the test app"


def test_endpoint_table_lists_every_route() -> None:
    documented = documented_routes()
    missing = [route for route in schema_routes(full_app()) if route not in documented]
    assert missing == [], f"add rows to docs/endpoints.md for {missing}"
