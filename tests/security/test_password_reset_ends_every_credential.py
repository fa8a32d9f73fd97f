"""A password reset ends every session, access token and refresh token of the account."""

from __future__ import annotations

from typing import Any

from security_support import me_status
from support import login


async def test_reset_ends_sessions_and_bearer_pair(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    sender = test_app.extras["sender"]
    async with test_app.client() as first, test_app.client() as second:
        assert (await login(first)).status_code == 200
        assert (await login(second)).status_code == 200
        s_1 = first.cookies["session_id"]
        s_2 = second.cookies["session_id"]
    async with test_app.client() as api:
        pair = await api.post("/token", data={"username": "alice", "password": "Correct-Horse-1"})
        assert pair.status_code == 200, pair.text
    access = pair.json()["access_token"]
    refresh = pair.json()["refresh_token"]

    async with test_app.client() as anonymous:
        requested = await anonymous.post(
            "/password/reset-request", json={"email": "alice@example.com"}
        )
        assert requested.status_code == 200, requested.text
        [mail] = sender.of_kind("reset_password")
        confirmed = await anonymous.post(
            "/password/reset-confirm", json={"token": mail.token, "new_password": "New-Secret-77"}
        )
    assert confirmed.status_code == 200, confirmed.text

    assert await me_status(test_app, s_1) == 401
    assert await me_status(test_app, s_2) == 401
    assert await me_status(test_app, token=access) == 401
    async with test_app.client() as api:
        refreshed = await api.post("/refresh", json={"refresh_token": refresh})
    assert refreshed.status_code == 401, refreshed.text


async def test_after_reset_only_the_new_password_signs_in(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    sender = test_app.extras["sender"]
    async with test_app.client() as old_browser:
        assert (await login(old_browser)).status_code == 200
        form = {"username": "alice", "password": "Correct-Horse-1"}
        assert (await old_browser.post("/token", data=form)).status_code == 200
        async with test_app.client() as anonymous:
            await anonymous.post("/password/reset-request", json={"email": "alice@example.com"})
            [mail] = sender.of_kind("reset_password")
            confirmed = await anonymous.post(
                "/password/reset-confirm",
                json={"token": mail.token, "new_password": "New-Secret-77"},
            )
            assert confirmed.status_code == 200, confirmed.text
        assert (await old_browser.get("/me")).status_code == 401

    async with test_app.client() as client:
        old = await login(client, "alice@example.com", "Correct-Horse-1")
        assert old.status_code == 401, old.text
        new = await login(client, "alice@example.com", "New-Secret-77")
        assert new.status_code == 200, new.text
        listing = await client.get("/sessions")
    assert listing.status_code == 200, listing.text
    rows = listing.json()
    assert len(rows) == 1
    assert rows[0]["current"] is True
    assert rows[0]["kind"] == "session"
