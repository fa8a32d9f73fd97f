"""Registering, listing and removing passkeys over HTTP."""

from __future__ import annotations

from typing import Any

from passkey_support import (
    SoftAuthenticator,
    passkey_login,
    register_passkey,
    sign_in_with_sudo,
)
from support import BOB, csrf_headers, login


async def test_register_lists_the_passkey(make_passkey_app: Any) -> None:
    test_app = await make_passkey_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await sign_in_with_sudo(client)
        created = await register_passkey(client, SoftAuthenticator(), name="Laptop")
        listed = await client.get("/passkeys")

    assert listed.status_code == 200, listed.text
    assert listed.json() == [created]
    assert created["name"] == "Laptop"
    assert created["transports"] == ["internal"]
    assert created["last_used_at"] is None


async def test_register_options_need_sudo(make_passkey_app: Any) -> None:
    test_app = await make_passkey_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.post("/passkeys/register/options", headers=csrf_headers(client))

    assert response.status_code == 403, response.text


async def test_register_options_describe_a_discoverable_passkey(make_passkey_app: Any) -> None:
    test_app = await make_passkey_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await sign_in_with_sudo(client)
        response = await client.post("/passkeys/register/options", headers=csrf_headers(client))

    options = response.json()
    assert options["rp"] == {"id": "testserver", "name": "Example App"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["user"]["name"] == "alice"
    # The user handle is random, never the database id.
    assert options["user"]["id"] not in ("1", "MQ")
    assert response.headers["cache-control"] == "no-store"
    binding = response.headers["set-cookie"].lower()
    assert "crudauth_passkey=" in binding
    assert "httponly" in binding
    assert "samesite=lax" in binding


async def test_second_registration_excludes_the_first(make_passkey_app: Any) -> None:
    test_app = await make_passkey_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await sign_in_with_sudo(client)
        await register_passkey(client, SoftAuthenticator())
        options = await client.post("/passkeys/register/options", headers=csrf_headers(client))

    assert len(options.json()["excludeCredentials"]) == 1


async def test_same_credential_twice_is_rejected(make_passkey_app: Any) -> None:
    test_app = await make_passkey_app()
    await test_app.create_user()
    authenticator = SoftAuthenticator()
    async with test_app.client() as client:
        await sign_in_with_sudo(client)
        options = await client.post("/passkeys/register/options", headers=csrf_headers(client))
        credential = authenticator.create(options.json())
        await client.post(
            "/passkeys/register/verify",
            json={"credential": credential},
            headers=csrf_headers(client),
        )
        options = await client.post("/passkeys/register/options", headers=csrf_headers(client))
        again = authenticator.create(options.json(), reuse=authenticator.credentials[0])
        response = await client.post(
            "/passkeys/register/verify",
            json={"credential": again},
            headers=csrf_headers(client),
        )

    assert response.status_code == 400, response.text
    assert response.json()["detail"] == "This passkey is already registered"


async def test_registration_without_user_verification_fails(make_passkey_app: Any) -> None:
    test_app = await make_passkey_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await sign_in_with_sudo(client)
        options = await client.post("/passkeys/register/options", headers=csrf_headers(client))
        credential = SoftAuthenticator(user_verified=False).create(options.json())
        response = await client.post(
            "/passkeys/register/verify",
            json={"credential": credential},
            headers=csrf_headers(client),
        )
        listed = await client.get("/passkeys")

    assert response.status_code == 400, response.text
    assert response.json()["detail"] == "Passkey verification failed"
    assert listed.json() == []


async def test_remove_deletes_and_blocks_sign_in(make_passkey_app: Any) -> None:
    test_app = await make_passkey_app()
    await test_app.create_user()
    authenticator = SoftAuthenticator()
    async with test_app.client() as client:
        await sign_in_with_sudo(client)
        created = await register_passkey(client, authenticator)
        removed = await client.delete(f"/passkeys/{created['id']}", headers=csrf_headers(client))
        listed = await client.get("/passkeys")
    async with test_app.client() as fresh:
        signed_in = await passkey_login(fresh, authenticator)

    assert removed.status_code == 200, removed.text
    assert removed.json() == {"detail": "Passkey removed"}
    assert listed.json() == []
    assert signed_in.status_code == 401, signed_in.text


async def test_remove_other_users_passkey_is_404(make_passkey_app: Any) -> None:
    test_app = await make_passkey_app()
    await test_app.create_user()
    await test_app.create_user(
        email=BOB["email"], username=BOB["username"], password=BOB["password"]
    )
    async with test_app.client() as alice:
        await sign_in_with_sudo(alice)
        alices = await register_passkey(alice, SoftAuthenticator())
    async with test_app.client() as bob:
        await sign_in_with_sudo(bob, BOB["username"], BOB["password"])
        foreign = await bob.delete(f"/passkeys/{alices['id']}", headers=csrf_headers(bob))
        unknown = await bob.delete("/passkeys/no-such-passkey", headers=csrf_headers(bob))
    async with test_app.client() as alice:
        await login(alice)
        still_listed = await alice.get("/passkeys")

    assert foreign.status_code == 404, foreign.text
    assert foreign.content == unknown.content
    assert still_listed.json() == [alices]


async def test_register_verify_in_other_account_is_rejected(make_passkey_app: Any) -> None:
    test_app = await make_passkey_app()
    await test_app.create_user()
    await test_app.create_user(
        email=BOB["email"], username=BOB["username"], password=BOB["password"]
    )
    async with test_app.client() as alice:
        await sign_in_with_sudo(alice)
        options = await alice.post("/passkeys/register/options", headers=csrf_headers(alice))
        credential = SoftAuthenticator().create(options.json())
        binding = alice.cookies.get("crudauth_passkey")
    async with test_app.client() as bob:
        await sign_in_with_sudo(bob, BOB["username"], BOB["password"])
        bob.cookies.set("crudauth_passkey", binding or "", domain="testserver")
        response = await bob.post(
            "/passkeys/register/verify",
            json={"credential": credential},
            headers=csrf_headers(bob),
        )
        listed = await bob.get("/passkeys")

    assert response.status_code == 400, response.text
    assert listed.json() == []


async def test_passkey_limit_is_enforced(make_passkey_app: Any) -> None:
    from passkey_support import passkey_config

    test_app = await make_passkey_app(passkeys=passkey_config(max_passkeys_per_user=1))
    await test_app.create_user()
    async with test_app.client() as client:
        await sign_in_with_sudo(client)
        await register_passkey(client, SoftAuthenticator())
        options = await client.post("/passkeys/register/options", headers=csrf_headers(client))
        credential = SoftAuthenticator().create(options.json())
        response = await client.post(
            "/passkeys/register/verify",
            json={"credential": credential},
            headers=csrf_headers(client),
        )
        listed = await client.get("/passkeys")

    assert response.status_code == 400, response.text
    assert "limit" in response.json()["detail"]
    assert len(listed.json()) == 1
