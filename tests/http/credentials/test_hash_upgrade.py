"""Sign-in re-hashes a password stored with an older scheme, weaker settings or no pepper."""

from __future__ import annotations

from typing import Any

from conftest import AppFactory
from crudauth.utils.password_hashing import PEPPERED_PREFIX, PasswordHashing
from support import login

PEPPER = "pepper-0123456789-abcdefghij"


async def stored_hash(test_app: Any, user_id: Any) -> str:
    user = await test_app.get_user(user_id)
    return str(test_app.auth.repo.get(user, "hashed_password"))


async def test_login_upgrades_bcrypt_to_argon2id(make_app: AppFactory) -> None:
    test_app = await make_app(password_hasher="argon2id")
    user = await test_app.create_user()
    assert (await stored_hash(test_app, user.id)).startswith("$2b$")

    async with test_app.client() as client:
        response = await login(client)
    assert response.status_code == 200, response.text

    upgraded = await stored_hash(test_app, user.id)
    assert upgraded.startswith("$argon2id$")
    async with test_app.client() as client:
        again = await login(client)
    assert again.status_code == 200, again.text
    assert await stored_hash(test_app, user.id) == upgraded


async def test_failed_login_keeps_old_hash(make_app: AppFactory) -> None:
    test_app = await make_app(password_hasher="argon2id")
    user = await test_app.create_user()
    before = await stored_hash(test_app, user.id)
    async with test_app.client() as client:
        response = await login(client, password="Wrong-Horse-1")
    assert response.status_code == 401, response.text
    assert await stored_hash(test_app, user.id) == before


async def test_login_adds_pepper(make_app: AppFactory) -> None:
    test_app = await make_app(password_hasher="argon2id", password_pepper=PEPPER)
    user = await test_app.create_user()
    async with test_app.client() as client:
        response = await login(client)
    assert response.status_code == 200, response.text
    upgraded = await stored_hash(test_app, user.id)
    assert upgraded.startswith(PEPPERED_PREFIX)
    assert PasswordHashing("argon2id").verify("Correct-Horse-1", upgraded) is False


async def test_register_uses_configured_hasher(make_app: AppFactory) -> None:
    test_app = await make_app(password_hasher="argon2id", password_pepper=PEPPER)
    async with test_app.client() as client:
        response = await client.post(
            "/register",
            json={"email": "carol@example.com", "username": "carol", "password": "Tr0ub4dor&33"},
        )
        assert response.status_code in (200, 201), response.text
        signed_in = await login(client, username="carol", password="Tr0ub4dor&33")
    assert signed_in.status_code == 200, signed_in.text
    async with test_app.sessionmaker() as db:
        row = await test_app.auth.repo.resolve_login(db, "carol")
    assert test_app.auth.repo.get(row, "hashed_password").startswith(PEPPERED_PREFIX)


async def test_upgrade_loses_to_concurrent_change(make_app: AppFactory) -> None:
    """A password changed while the check ran is kept, not overwritten by the upgrade."""
    test_app = await make_app(password_hasher="argon2id")
    user = await test_app.create_user()
    passwords = test_app.auth.runtime.passwords
    replacement = PasswordHashing().hash("Changed-Meanwhile-9")
    original = passwords.verify_and_update_async

    async def change_then_verify(plain: str, hashed: str | None) -> tuple[bool, str | None]:
        result = await original(plain, hashed)
        async with test_app.sessionmaker() as db:
            row = await test_app.auth.repo.get_by_id(db, user.id)
            await test_app.auth.repo.update(db, row, {"hashed_password": replacement})
        return result

    passwords.verify_and_update_async = change_then_verify  # type: ignore[method-assign]
    async with test_app.client() as client:
        response = await login(client)
    assert response.status_code == 200, response.text
    assert await stored_hash(test_app, user.id) == replacement
