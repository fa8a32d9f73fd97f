"""Bad input on every core route gets a 4xx with a JSON detail and writes nothing."""

from __future__ import annotations

from typing import Any

import bcrypt
import pytest

import crudauth.utils.hashing as hashing
from support import ALICE, csrf_headers, login


async def test_login_missing_fields_is_422(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post("/login", data={"username": "alice"})
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


async def test_login_json_body_is_422(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post("/login", json={"username": "alice", "password": "x"})
    assert response.status_code == 422, response.text


async def test_login_malformed_form_is_4xx(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post(
            "/login",
            content=b"username=%ZZ&password=%%%",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert 400 <= response.status_code < 500, response.text
    assert "detail" in response.json()


async def test_login_huge_password_is_401(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        response = await login(client, password="p" * 10_000_000)
    # The form parser refuses a field over 1 MB with a 400 before any hashing.
    assert response.status_code in (400, 401), response.text
    assert "detail" in response.json()
    assert "session_id" not in response.cookies


async def test_login_nul_bytes_are_401(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        response = await login(client, username="ali\x00ce", password="x\x00y")
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Incorrect username or password"}


async def test_unknown_user_and_wrong_password_match(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        unknown = await login(client, username="nobody@example.com")
        wrong = await login(client, password="not-her-password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.content == wrong.content


async def test_unknown_user_pays_one_bcrypt_compare(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_app = await make_app()
    await test_app.create_user()
    hashing.dummy_verify_password("warm the cached dummy hash")
    calls: list[int] = []
    original = bcrypt.checkpw

    def counting_checkpw(password: bytes, hashed: bytes) -> bool:
        calls.append(1)
        return original(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting_checkpw)
    async with test_app.client() as client:
        await login(client, username="nobody@example.com")
        unknown_calls = len(calls)
        calls.clear()
        await login(client, password="not-her-password")
        wrong_calls = len(calls)
    assert unknown_calls == 1
    assert wrong_calls == 1


async def test_tampered_session_cookie_is_anonymous(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        client.cookies.set("session_id", client.cookies["session_id"][:-2] + "zz")
        response = await client.get("/me")
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(
    "cookie",
    ["", "x" * 5000, "../../etc/passwd", "\u00e9\u00e9", "null", "1 OR 1=1"],
    ids=["empty", "long", "path", "non-ascii", "null", "sql"],
)
async def test_foreign_session_cookie_is_401(make_app: Any, cookie: str) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        header = f"session_id={cookie}".encode("latin-1")
        response = await client.get("/me", headers={"Cookie": header})
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Not authenticated"}


async def test_foreign_csrf_header_is_403(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        forged = ("\u00e9" * 70).encode("latin-1")
        response = await client.post("/protected", headers={"X-CSRF-Token": forged})
    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "Invalid CSRF token"}


async def test_change_password_wrong_types_is_422(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.post(
            "/change-password",
            json={"current_password": 5, "new_password": None},
            headers=csrf_headers(client),
        )
    assert response.status_code == 422, response.text


async def test_failed_registration_writes_nothing(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        await client.post("/register", json={**ALICE, "username": "u" * 65})
        await client.post("/register", json={**ALICE, "password": "short"})
    async with test_app.sessionmaker() as db:
        assert await test_app.auth.repo.get_by_field(db, "email", ALICE["email"]) is None


async def test_login_by_username_any_case(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        response = await login(client, username="ALICE")
    assert response.status_code == 200, response.text
