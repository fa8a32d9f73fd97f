"""A login always issues a fresh, server-generated session and ends the presented one."""

from __future__ import annotations

from typing import Any

from oauth_support import sign_in
from security_support import cookie_headers, identity, me_status, plant
from support import BOB, login


async def bob_session(test_app: Any) -> str:
    async with test_app.client() as browser_a:
        response = await login(browser_a, BOB["email"], BOB["password"])
        assert response.status_code == 200, response.text
        return browser_a.cookies["session_id"]


async def test_login_over_another_users_session_replaces_it(secure_app: Any) -> None:
    test_app = await secure_app()
    s_bob = await bob_session(test_app)
    async with test_app.client() as browser_b:
        plant(browser_b, s_bob)
        response = await login(browser_b, "alice@example.com", "Correct-Horse-1")
        assert response.status_code == 200, response.text
        [header] = cookie_headers(response, "session_id")
        new_value = browser_b.cookies["session_id"]
        assert new_value != s_bob
        assert s_bob not in header
        listing = (await browser_b.get("/sessions")).json()
        me = (await browser_b.get("/me")).json()
    assert me["username"] == "alice"
    assert await me_status(test_app, s_bob) == 401
    bob_handles = set()
    async with test_app.client() as bob:
        await login(bob, BOB["email"], BOB["password"])
        bob_handles = {row["id"] for row in (await bob.get("/sessions")).json()}
    assert len(listing) == 1
    assert not {row["id"] for row in listing} & bob_handles


async def test_planted_session_id_is_never_adopted(secure_app: Any) -> None:
    test_app = await secure_app()
    async with test_app.client() as browser_c:
        plant(browser_c, "planted-0001")
        response = await login(browser_c)
        assert response.status_code == 200, response.text
        value = browser_c.cookies["session_id"]
    assert value != "planted-0001"
    assert len(value) >= 32


async def test_failed_login_leaves_presented_session_alone(secure_app: Any) -> None:
    test_app = await secure_app()
    s_bob = await bob_session(test_app)
    async with test_app.client() as browser_d:
        plant(browser_d, s_bob)
        response = await login(browser_d, "alice@example.com", "not-her-password")
    assert response.status_code == 401, response.text
    assert cookie_headers(response, "session_id") == []
    async with test_app.client() as client:
        plant(client, s_bob)
        me = await client.get("/me")
    assert me.status_code == 200
    assert me.json()["username"] == "bob"


async def test_oauth_sign_in_replaces_presented_session(secure_app: Any) -> None:
    test_app = await secure_app()
    await test_app.create_user(
        email="ada@example.com",
        username="ada",
        password=None,
        email_verified=True,
        oidc_id="fake-user-1",
    )
    s_bob = await bob_session(test_app)
    test_app.extras["fake"].provider.queue(identity())
    async with test_app.client() as client:
        plant(client, s_bob)
        done = await sign_in(client)
        assert done.status_code == 307, done.text
        assert cookie_headers(done, "session_id")
        new_value = client.cookies["session_id"]
        assert (await client.get("/me")).json()["username"] == "ada"
    assert new_value != s_bob
    assert await me_status(test_app, s_bob) == 401
