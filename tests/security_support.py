"""Helpers for the attack scenarios: cookie parsing and one-credential probes."""

from __future__ import annotations

from typing import Any

import httpx

from oauth_support import fake_provider_module


def identity(**changes: Any) -> Any:
    """An account at the fake provider."""
    return fake_provider_module().Identity(**changes)


def cookie_headers(response: httpx.Response, name: str) -> list[str]:
    """Return the ``Set-Cookie`` headers of ``response`` that set ``name``."""
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]


def cookie_attributes(header: str) -> dict[str, str]:
    """Parse one ``Set-Cookie`` header into lower-cased attribute names and values."""
    parts = [part.strip() for part in header.split(";")]
    name, _, value = parts[0].partition("=")
    attributes = {"name": name, "value": value.strip('"')}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        attributes[key.lower()] = val.lower() if key.lower() == "samesite" else val
    return attributes


def cleared(response: httpx.Response, name: str) -> bool:
    """Whether ``response`` expires the cookie ``name``."""
    for header in cookie_headers(response, name):
        attributes = cookie_attributes(header)
        if attributes.get("max-age") == "0" or attributes["value"] == "":
            return True
    return False


async def me_status(test_app: Any, session_id: str | None = None, token: str | None = None) -> int:
    """``GET /me`` from a clean client with just one credential; return the status."""
    async with test_app.client() as client:
        if session_id is not None:
            plant(client, session_id)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return (await client.get("/me", headers=headers)).status_code


def plant(client: httpx.AsyncClient, value: str, name: str = "session_id") -> None:
    """Put a cookie in ``client``'s jar as if the server had set it."""
    client.cookies.set(name, value, domain="testserver.local")


async def prepare(backend: Any) -> None:
    """Create the database store's tables when the backend needs them."""
    for store in backend.stores:
        await store.create_tables()


def full_kwargs() -> dict[str, Any]:
    """``CRUDAuth`` arguments with both transports, management routes and email."""
    from crudauth import BearerTransport, EmailConfig, SessionTransport
    from recovery_support import FRONTEND, RecordingSender

    return {
        "transports": [SessionTransport(management_routes=True), BearerTransport(refresh="body")],
        "email": EmailConfig(sender=RecordingSender(), frontend_url=FRONTEND),
    }
