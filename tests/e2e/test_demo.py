"""The demo over real HTTP: register, sign in, call /me, sign out."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_demo_register_login_me_logout(demo_server) -> None:  # type: ignore[no-untyped-def]
    base_url = demo_server()
    with httpx.Client(base_url=base_url) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "Sign in" in home.text

        registered = client.post(
            "/register",
            json={"email": "ada@example.com", "username": "ada", "password": "a-long-password"},
        )
        # The demo registers with verify_on_register=False, so it answers with the account.
        assert registered.status_code == 200, registered.text

        logged_in = client.post("/login", data={"username": "ada", "password": "a-long-password"})
        assert logged_in.status_code == 200, logged_in.text
        assert client.cookies.get("session_id")
        csrf_token = logged_in.json()["csrf_token"]
        assert csrf_token == client.cookies.get("csrf_token")

        me = client.get("/me")
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "ada"

        without_csrf = client.post("/logout")
        assert without_csrf.status_code == 403

        logged_out = client.post("/logout", headers={"X-CSRF-Token": csrf_token})
        assert logged_out.status_code == 200, logged_out.text
        assert client.get("/me").status_code == 401


def test_demo_bearer_token_works_on_me(demo_server) -> None:  # type: ignore[no-untyped-def]
    base_url = demo_server()
    with httpx.Client(base_url=base_url) as client:
        client.post(
            "/register",
            json={"email": "bo@example.com", "username": "bo", "password": "a-long-password"},
        )
        token = client.post("/token", data={"username": "bo", "password": "a-long-password"})
        assert token.status_code == 200, token.text
        access = token.json()["access_token"]
        me = client.get("/me", headers={"Authorization": f"Bearer {access}"})
        assert me.status_code == 200, me.text
        assert me.json()["via"] == "bearer"
