"""Bearer sign-out with a refresh cookie: rotation, logout, replay and password change.

The refresh token rotates on every ``POST /refresh`` inside a server-side token family.
A logout ends the family, and a rotated token replayed after the grace window is
refused and ends its family, so a captured refresh token stops working.
"""

from __future__ import annotations

from typing import Any

from crudauth import BearerTransport
from crudauth.ratelimit import LockoutConfig
from security_support import cookie_attributes, cookie_headers, me_status, plant

PASSWORD_FORM = {"username": "alice", "password": "Correct-Horse-1"}
FLAGS = ("path", "secure", "samesite", "httponly", "domain")


async def bearer_app(make_app: Any, **transport_options: Any) -> Any:
    test_app = await make_app(
        transports=[BearerTransport(**transport_options)],
        lockout=LockoutConfig(max_attempts=1000),
    )
    await test_app.create_user()
    return test_app


def refresh_cookie(response: Any) -> dict[str, str]:
    [header] = cookie_headers(response, "refresh_token")
    return cookie_attributes(header)


async def refresh_with(test_app: Any, value: str) -> Any:
    """``POST /refresh`` from a new client holding only the refresh cookie ``value``."""
    async with test_app.client() as client:
        plant(client, value, name="refresh_token")
        return await client.post("/refresh")


async def test_refresh_rotates_the_cookie(make_app: Any) -> None:
    test_app = await bearer_app(make_app)
    async with test_app.client() as client:
        issued = await client.post("/token", data=PASSWORD_FORM)
        assert issued.status_code == 200, issued.text
        first = refresh_cookie(issued)
        refreshed = await client.post("/refresh")
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert set(body) == {"access_token", "token_type"}
    assert body["token_type"] == "bearer"
    rotated = refresh_cookie(refreshed)
    # Rotation replaces the case's "no new refresh token": each refresh sets a new one.
    assert rotated["value"] != first["value"]
    for flag in FLAGS:
        assert rotated.get(flag) == first.get(flag), flag
    assert "httponly" in rotated


async def test_logout_clears_the_cookie_and_ends_the_family(make_app: Any) -> None:
    test_app = await bearer_app(make_app)
    async with test_app.client() as client:
        issued = await client.post("/token", data=PASSWORD_FORM)
        r_1 = refresh_cookie(issued)["value"]
        refreshed = await client.post("/refresh")
        assert refreshed.status_code == 200, refreshed.text
        set_cookie = refresh_cookie(refreshed)
        access = refreshed.json()["access_token"]

        logged_out = await client.post("/logout", headers={"Authorization": f"Bearer {access}"})
        assert logged_out.status_code == 200, logged_out.text
        assert logged_out.json() == {"detail": "Logged out"}
        clearing = refresh_cookie(logged_out)
        assert clearing["max-age"] == "0"
        for flag in FLAGS:
            assert clearing.get(flag) == set_cookie.get(flag), flag

        again = await client.post("/refresh")
    assert again.status_code == 401, again.text
    assert again.json() == {"detail": "Refresh token missing"}
    assert (await refresh_with(test_app, r_1)).status_code == 401
    assert (await refresh_with(test_app, set_cookie["value"])).status_code == 401
    assert await me_status(test_app, token=access) == 401


async def test_replayed_rotated_token_ends_the_family(make_app: Any) -> None:
    test_app = await bearer_app(make_app, refresh_grace_seconds=0)
    async with test_app.client() as client:
        issued = await client.post("/token", data=PASSWORD_FORM)
        r_1 = refresh_cookie(issued)["value"]
        refreshed = await client.post("/refresh")
        assert refreshed.status_code == 200, refreshed.text
        r_2 = refresh_cookie(refreshed)["value"]
        access = refreshed.json()["access_token"]
    assert await me_status(test_app, token=access) == 200

    replay = await refresh_with(test_app, r_1)
    assert replay.status_code == 401, replay.text
    assert replay.json() == {"detail": "Invalid or expired refresh token"}
    # The whole family is gone: the legitimate holder's tokens die with the replay.
    assert (await refresh_with(test_app, r_2)).status_code == 401
    assert await me_status(test_app, token=access) == 401


async def test_password_change_ends_other_bearer_pairs(make_app: Any) -> None:
    test_app = await bearer_app(make_app)
    async with test_app.client() as device_a, test_app.client() as device_b:
        pair = await device_a.post("/token", data=PASSWORD_FORM)
        a_2 = pair.json()["access_token"]
        r_2 = refresh_cookie(pair)["value"]
        other = await device_b.post("/token", data=PASSWORD_FORM)
        changed = await device_b.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": "Fresh-Pass-88"},
            headers={"Authorization": f"Bearer {other.json()['access_token']}"},
        )
    assert changed.status_code == 200, changed.text
    assert await me_status(test_app, token=a_2) == 401
    assert (await refresh_with(test_app, r_2)).status_code == 401
