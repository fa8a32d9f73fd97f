"""NUL characters and huge passwords get clean answers and never weaken a check."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from support import csrf_headers, login


async def test_nul_in_login_password_is_401(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    async with test_app.client() as client:
        response = await login(client, "alice", "Correct\u0000Horse-1")
    assert response.status_code == 401, response.text


async def test_nul_in_registered_password_never_matches_another(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    async with test_app.client() as client:
        body = {"email": "nul@example.com", "username": "nul_user", "password": "\u0000abcdefgh12"}
        response = await client.post("/register", json=body)
        assert response.status_code in (200, 201, 202, 422), response.text
        assert "detail" in response.json() or response.status_code < 300
        other = await login(client, "nul@example.com", "\u0000zzzzzzzz99")
    assert other.status_code == 401, other.text


async def test_nul_in_new_password_is_refused_or_exact(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    async with test_app.client() as client:
        await login(client)
        response = await client.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": "New\u0000Secret-9"},
            headers=csrf_headers(client),
        )
    assert response.status_code in (200, 422), response.text
    async with test_app.client() as client:
        if response.status_code == 200:
            assert (await login(client, "alice", "New\u0000Secret-9")).status_code == 200
            assert (await login(client, "alice", "New")).status_code == 401
        else:
            assert (await login(client)).status_code == 200


@pytest.mark.parametrize("size", [500_000, 2 * 1024 * 1024])
async def test_huge_login_password_is_a_clean_4xx(
    secure_app: Any, size: int, caplog: pytest.LogCaptureFixture
) -> None:
    test_app = await secure_app(oauth=False)
    password = "x" * size
    caplog.set_level(logging.DEBUG)
    async with test_app.client() as client:
        response = await login(client, "alice", password)
    assert 400 <= response.status_code < 500, response.text
    assert "detail" in response.json()
    assert password[:64] not in response.text
    assert password[:64] not in caplog.text


async def test_huge_new_passwords_are_422(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    sender = test_app.extras["sender"]
    async with test_app.client() as client:
        body = {"email": "big@example.com", "username": "big_one", "password": "y" * 10_000}
        registered = await client.post("/register", json=body)
        assert registered.status_code == 422, registered.text
        assert "detail" in registered.json()
        await client.post("/password/reset-request", json={"email": "alice@example.com"})
        [mail] = sender.of_kind("reset_password")
        reset = await client.post(
            "/password/reset-confirm",
            json={"token": mail.token, "new_password": "z" * 1024 * 1024},
        )
    assert reset.status_code == 422, reset.text[:200]
    assert "detail" in reset.json()
    assert "z" * 64 not in reset.text
