"""Usernames equal under NFKC and case folding can't coexist; look-alikes are refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from support import login


async def register(client: Any, username: str, email: str) -> Any:
    body = {"email": email, "username": username, "password": "Valid-Pass-123"}
    return await client.post("/register", json=body)


@pytest.mark.parametrize(
    ("username", "email"),
    [("\ufb00oo", "lig@example.com"), ("ａｄｍｉｎ", "wide@example.com")],
    ids=["ligature", "fullwidth"],
)
async def test_compatibility_spellings_are_taken(
    secure_app: Any, username: str, email: str
) -> None:
    test_app = await secure_app(oauth=False)
    await test_app.create_user(email="ffoo@example.com", username="ffoo", password="Ffoo-Pass-11")
    await test_app.create_user(email="admin@example.com", username="admin", password="Admin-Pass-1")
    async with test_app.client() as client:
        response = await register(client, username, email)
    assert response.status_code == 422, response.text
    assert "detail" in response.json()
    async with test_app.sessionmaker() as db:
        count = await db.scalar(select(func.count()).select_from(test_app.model))
    assert count == 4


async def test_mixed_script_look_alike_is_refused(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    await test_app.create_user(email="admin@example.com", username="admin", password="Admin-Pass-1")
    async with test_app.client() as client:
        response = await register(client, "\u0430dmin", "cyr@example.com")
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


async def test_each_stored_username_logs_in_with_its_own_password(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    await test_app.create_user(email="ffoo@example.com", username="ffoo", password="Ffoo-Pass-11")
    await test_app.create_user(email="admin@example.com", username="admin", password="Admin-Pass-1")
    async with test_app.client() as client:
        assert (await login(client, "ffoo", "Ffoo-Pass-11")).status_code == 200
        assert (await login(client, "ffoo", "Admin-Pass-1")).status_code == 401
        assert (await login(client, "admin", "Admin-Pass-1")).status_code == 200
        assert (await login(client, "admin", "Ffoo-Pass-11")).status_code == 401
        assert (await login(client, "ＡＤＭＩＮ", "Admin-Pass-1")).status_code == 200
