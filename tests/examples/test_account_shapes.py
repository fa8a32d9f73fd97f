"""The username-only, existing-users-table and server-set-fields recipes, end to end."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from support import csrf_headers, login


async def test_username_only_register_login(example_client: Any) -> None:
    async with example_client("username_only") as (module, client):
        assert not module.auth.repo.has("email")
        registered = await client.post(
            "/register", json={"username": "Alice", "password": "Correct-Horse-1"}
        )
        assert registered.status_code == 200, registered.text
        assert registered.json()["email"] is None
        assert (await login(client, "Alice")).status_code == 200
        profile = await client.get("/profile")
        assert profile.json()["username"] == "Alice"


async def test_username_only_folds_case_and_refuses_duplicates(example_client: Any) -> None:
    async with example_client("username_only") as (_module, client):
        await client.post("/register", json={"username": "Alice", "password": "Correct-Horse-1"})
        duplicate = await client.post(
            "/register", json={"username": "alice", "password": "Correct-Horse-1"}
        )
        assert duplicate.status_code == 422, duplicate.text
        assert "already taken" in duplicate.json()["detail"]
        # Usernames are unique after case folding, so any spelling signs in.
        assert (await login(client, "ALICE")).status_code == 200


async def test_username_only_has_no_recovery(example_client: Any) -> None:
    async with example_client("username_only") as (module, client):
        missing = await client.post("/password/reset-request", json={"username": "Alice"})
        assert missing.status_code == 404
        with pytest.raises(ValueError, match="recovery factor"):
            module.auth.current_user(verified=True)


async def test_username_only_email_string_never_resolves(example_client: Any) -> None:
    async with example_client("username_only") as (_module, client):
        await client.post("/register", json={"username": "bob", "password": "Correct-Horse-1"})
        response = await login(client, "bob@example.com")
        assert response.status_code == 401, response.text


async def test_existing_table_register_login_profile(example_client: Any) -> None:
    async with example_client("existing_users_table") as (_module, client):
        registered = await client.post(
            "/register",
            json={"email": " Ada@Example.COM ", "username": "ada", "password": "Correct-Horse-1"},
        )
        assert registered.status_code == 200, registered.text
        assert registered.json()["email"] == "ada@example.com"
        assert (await login(client, "ADA@example.com")).status_code == 200
        profile = await client.get("/profile")
        assert profile.status_code == 200, profile.text
        assert profile.json() == {
            "account_id": registered.json()["id"],
            "email": "ada@example.com",
        }


async def test_existing_table_degrades_without_bookkeeping(example_client: Any) -> None:
    async with example_client("existing_users_table") as (module, client):
        repo = module.auth.repo
        await client.post(
            "/register",
            json={"email": "ada@example.com", "username": "ada", "password": "Correct-Horse-1"},
        )
        await login(client, "ada")
        async with module.SessionLocal() as db:
            account = await repo.get_by_field(db, "username", "ada")
            assert repo.token_version(account) == 0
            account = await repo.increment_token_version(db, account)
            assert repo.token_version(account) == 0
            assert repo.email_verified(account) is False
        changed = await client.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": "New-Secret-77"},
            headers=csrf_headers(client),
        )
        assert changed.status_code == 200, changed.text
        assert (await client.get("/profile")).status_code == 200


async def test_existing_table_gates_mapped_admin_column(example_client: Any) -> None:
    async with example_client("existing_users_table") as (module, _client):
        repo = module.auth.repo
        assert repo.filter_registration_data({"is_admin": True, "email": "x@example.com"}) == {
            "email": "x@example.com"
        }
        assert repo.gated_register_fields({"is_admin"}) == {"is_admin"}


async def test_server_set_fields_merge(
    example_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="crudauth"):
        async with example_client("server_set_fields") as (_module, client):
            first = await client.post(
                "/register",
                json={
                    "email": "owner@example.com",
                    "username": "owner",
                    "password": "Correct-Horse-1",
                    "display_name": "The Owner",
                    "tier_id": "enterprise",
                },
            )
            assert first.status_code == 200, first.text
            await login(client, "owner")
            profile = (await client.get("/profile")).json()
            assert profile == {
                "display_name": "The Owner",
                "name": "owner",
                "tier_id": "free",
                "role": "owner",
            }
            second = await client.post(
                "/register",
                json={
                    "email": "member@example.com",
                    "username": "member",
                    "password": "Correct-Horse-1",
                },
            )
            assert second.status_code == 200, second.text
            await login(client, "member")
            assert (await client.get("/profile")).json()["role"] == "member"
    assert any(
        "tier_id" in record.getMessage() and "register_extra_fields" in record.getMessage()
        for record in caplog.records
    )
