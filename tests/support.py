"""Helpers for HTTP tests: sample accounts and request shortcuts."""

from __future__ import annotations

import httpx

ALICE = {"email": "alice@example.com", "username": "alice", "password": "Correct-Horse-1"}
BOB = {"email": "bob@example.com", "username": "bob", "password": "Battery-Staple-2"}


async def login(
    client: httpx.AsyncClient,
    username: str = "alice",
    password: str = "Correct-Horse-1",
    **form: str,
) -> httpx.Response:
    """POST the login form and return the response."""
    return await client.post("/login", data={"username": username, "password": password, **form})


def csrf_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """Return the ``X-CSRF-Token`` header echoing the client's CSRF cookie."""
    return {"X-CSRF-Token": client.cookies.get("csrf_token") or ""}
