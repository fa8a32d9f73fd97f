"""``POST /register``: allowlist, gating, duplicates, limits and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, EmailStr
from sqlalchemy.exc import IntegrityError

from crudauth.ratelimit import RateLimit
from support import ALICE


async def test_register_returns_account_fields(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post("/register", json=ALICE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == "alice@example.com"
    assert body["username"] == "alice"
    assert isinstance(body["id"], int)
    assert "set-cookie" not in response.headers


async def test_register_stores_canonical_email(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post("/register", json={**ALICE, "email": "  Alice@Example.COM "})
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "alice@example.com"


async def test_register_then_login_works(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        await client.post("/register", json=ALICE)
        response = await client.post(
            "/login", data={"username": "alice@example.com", "password": ALICE["password"]}
        )
    assert response.status_code == 200, response.text


async def test_register_gates_privileged_fields(make_app: Any) -> None:
    class DangerousIn(BaseModel):
        email: EmailStr
        username: str
        password: str
        full_name: str | None = None
        role: str | None = None
        is_superuser: bool = False
        email_verified: bool = False

    test_app = await make_app(register_schema=DangerousIn, register_extra_fields={"full_name"})
    body = {
        **ALICE,
        "full_name": "Alice A",
        "role": "admin",
        "is_superuser": True,
        "email_verified": True,
    }
    async with test_app.client() as client:
        response = await client.post("/register", json=body)
    assert response.status_code == 200, response.text
    user = await test_app.get_user(response.json()["id"])
    assert user.is_superuser is False
    assert user.email_verified is False
    assert user.role == "user"
    assert user.full_name == "Alice A"


async def test_register_drops_extras_not_opted_in(make_app: Any) -> None:
    class WithNameIn(BaseModel):
        email: EmailStr
        username: str
        password: str
        full_name: str | None = None

    test_app = await make_app(register_schema=WithNameIn)
    async with test_app.client() as client:
        response = await client.post("/register", json={**ALICE, "full_name": "Alice A"})
    assert response.status_code == 200, response.text
    user = await test_app.get_user(response.json()["id"])
    assert user.full_name is None


async def test_register_duplicate_email_is_422(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        await client.post("/register", json=ALICE)
        response = await client.post(
            "/register", json={**ALICE, "username": "alice2", "email": "ALICE@example.com"}
        )
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": "Email already registered"}


async def test_register_duplicate_username_is_422(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        await client.post("/register", json=ALICE)
        response = await client.post("/register", json={**ALICE, "email": "other@example.com"})
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": "Username already taken"}


async def test_register_username_differing_in_case_is_taken(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        await client.post("/register", json=ALICE)
        response = await client.post(
            "/register", json={**ALICE, "email": "other@example.com", "username": "ALICE"}
        )
    assert response.status_code == 422, response.text
    assert "already taken" in response.json()["detail"]


async def test_register_mixed_script_username_is_422(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        # The first letter is U+0430, a Cyrillic letter that looks like a Latin "a".
        response = await client.post("/register", json={**ALICE, "username": "\u0430lice"})
    assert response.status_code == 422, response.text
    assert "script" in response.json()["detail"]


@pytest.mark.parametrize(
    "username", ["", " alice", "alice ", "ali\u200bce", "\u202ealice", "ali\nce"]
)
async def test_register_hidden_username_is_422(make_app: Any, username: str) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post("/register", json={**ALICE, "username": username})

    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("Username must not")
    async with test_app.sessionmaker() as db:
        assert await test_app.auth.repo.get_by_field(db, "email", ALICE["email"]) is None


async def test_register_integrity_race_is_clean_422(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_app = await make_app()
    repo = test_app.auth.repo

    async def failing_create(db: Any, data: dict[str, Any]) -> Any:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(repo, "create", failing_create)
    async with test_app.client() as client:
        response = await client.post("/register", json=ALICE)
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": "Account already exists"}


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "username": "alice", "password": "Correct-Horse-1"},
        {"email": "alice@example.test", "username": "alice", "password": "Correct-Horse-1"},
        {"username": "alice", "password": "Correct-Horse-1"},
        {"email": "alice@example.com", "username": 5, "password": "Correct-Horse-1"},
        {"email": "alice@example.com", "username": "alice", "password": ["x"]},
    ],
    ids=["invalid-email", "reserved-domain", "missing-email", "int-username", "list-password"],
)
async def test_register_invalid_body_is_422(make_app: Any, body: dict[str, Any]) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post("/register", json=body)
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


async def test_register_malformed_json_is_422(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post(
            "/register", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


async def test_register_short_password_is_422_without_echo(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post("/register", json={**ALICE, "password": "sh0rt"})
    assert response.status_code == 422, response.text
    assert "sh0rt" not in response.text
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


async def test_register_huge_password_is_422(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post("/register", json={**ALICE, "password": "p" * 10_000_000})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["type"] == "string_too_long"


async def test_register_nul_in_username_is_422(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post("/register", json={**ALICE, "username": "ali\x00ce"})
    assert response.status_code == 422, response.text
    async with test_app.sessionmaker() as db:
        assert await test_app.auth.repo.get_by_field(db, "email", ALICE["email"]) is None


async def test_register_nul_in_password_is_accepted(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post("/register", json={**ALICE, "password": "pass\x00word-123"})
        assert response.status_code == 200, response.text
        login = await client.post(
            "/login", data={"username": "alice", "password": "pass\x00word-123"}
        )
    assert login.status_code == 200, login.text


async def test_register_too_long_username_is_422(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post("/register", json={**ALICE, "username": "u" * 65})
    assert response.status_code == 422, response.text
    entry = response.json()["detail"][0]
    assert entry["type"] == "string_too_long"
    assert entry["loc"] == ["body", "username"]
    assert entry["ctx"] == {"max_length": 64}


async def test_register_throttle_sixth_attempt_is_429(make_app: Any) -> None:
    test_app = await make_app()
    statuses = []
    async with test_app.client() as client:
        for index in range(7):
            response = await client.post(
                "/register",
                json={
                    "email": f"user{index}@example.com",
                    "username": f"user{index}",
                    "password": "Correct-Horse-1",
                },
            )
            statuses.append(response.status_code)
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    assert response.headers["Retry-After"]
    assert response.headers["X-RateLimit-Remaining"] == "0"


async def test_register_throttle_skips_invalid_bodies(make_app: Any) -> None:
    test_app = await make_app(rate_limits={"register": RateLimit(1, 3600)})
    async with test_app.client() as client:
        for _ in range(3):
            bad = await client.post("/register", json={**ALICE, "password": "short"})
            assert bad.status_code == 422
        response = await client.post("/register", json=ALICE)
    assert response.status_code == 200, response.text
    assert response.headers["X-RateLimit-Limit"] == "1"


async def test_register_hook_failure_keeps_account(make_app: Any) -> None:
    from crudauth import AuthHooks

    calls: list[dict[str, Any]] = []

    async def broken_hook(user: dict[str, Any], *, db: Any, context: Any) -> None:
        calls.append(user)
        raise RuntimeError("mailer down")

    test_app = await make_app(hooks=AuthHooks(on_after_register=broken_hook))
    async with test_app.client() as client:
        response = await client.post("/register", json=ALICE)
    assert response.status_code == 200, response.text
    assert len(calls) == 1
    assert "hashed_password" in calls[0]
    assert await test_app.get_user(response.json()["id"]) is not None


async def test_register_new_user_defaults_apply(make_app: Any) -> None:
    test_app = await make_app(new_user_defaults={"role": "member", "is_superuser": True})
    async with test_app.client() as client:
        response = await client.post("/register", json=ALICE)
    assert response.status_code == 200, response.text
    user = await test_app.get_user(response.json()["id"])
    assert user.role == "member"
    assert user.is_superuser is False
