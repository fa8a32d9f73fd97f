"""The Google recipes, with Google's endpoints pointed at the fake provider on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from crudauth import is_unusable_password
from oauth_support import callback_error, fake_provider_module, sign_in
from support import csrf_headers, login

CLIENT_ID = "google-client-id"
SIGNUP = {"email": "ada@example.com", "username": "ada", "password": "Correct-Horse-1"}


@pytest.fixture(scope="module")
def provider_server() -> Iterator[Any]:
    module = fake_provider_module()
    running = module.RunningProvider(module.FakeProvider()).start()
    yield running
    running.stop()


@pytest.fixture
def google(provider_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PUBLIC_URL", "https://testserver")
    provider_server.provider.reset()
    provider_server.provider.clients = {CLIENT_ID: "google-client-secret"}
    return provider_server


def point_at_fake(module: Any, server: Any) -> None:
    provider = module.auth.oauth_providers["google"]
    provider.authorize_endpoint = server.url("/authorize")
    provider.token_endpoint = server.url("/token")
    provider.userinfo_endpoint = server.url("/userinfo")


def second_browser(module: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=module.app)
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


def identity(**changes: Any) -> Any:
    return fake_provider_module().Identity(**changes)


async def test_google_recipe_creates_and_signs_in(example_client: Any, google: Any) -> None:
    async with example_client("sign_in_with_google") as (module, client):
        point_at_fake(module, google)
        home = await client.get("/")
        assert "/oauth/google/authorize?redirect_to=/dashboard" in home.text
        google.provider.queue(identity(sub="google-123"))
        done = await sign_in(client, provider="google")
        assert done.status_code == 307, done.text
        assert done.headers["location"] == "/dashboard"
        dashboard = await client.get("/dashboard")
        assert dashboard.status_code == 200, dashboard.text
        assert dashboard.json()["email_verified"] is True
        assert (await client.get("/me")).json()["via"] == "session"
        async with module.SessionLocal() as db:
            user = await module.auth.repo.get_by_email(db, "ada@example.com")
        assert user.google_id == "google-123"
        assert user.display_name == "Ada Lovelace"
        assert is_unusable_password(user.hashed_password)


async def test_google_recipe_refuses_forged_state(example_client: Any, google: Any) -> None:
    async with example_client("sign_in_with_google") as (module, client):
        point_at_fake(module, google)
        client.cookies.set("oauth_state", "forged")
        done = await client.get("/oauth/google/callback", params={"code": "x", "state": "forged"})
        assert done.headers["location"] == "https://testserver?error=invalid_state"
        assert (await client.get("/dashboard")).status_code == 401


async def test_google_recipe_unsafe_redirect(example_client: Any, google: Any) -> None:
    async with example_client("sign_in_with_google") as (module, client):
        point_at_fake(module, google)
        google.provider.queue(identity())
        done = await sign_in(client, provider="google", redirect_to="//evil.com")
        assert done.headers["location"] == "https://testserver"


async def test_both_doors_reach_one_account(example_client: Any, google: Any) -> None:
    async with example_client("email_password_and_google") as (module, client):
        point_at_fake(module, google)
        registered = await client.post("/register", json=SIGNUP)
        assert registered.status_code == 200, registered.text
        user_id = registered.json()["id"]
        async with module.SessionLocal() as db:
            user = await module.auth.repo.get_by_id(db, user_id)
            await module.auth.repo.update(db, user, {"email_verified": True})
        google.provider.queue(identity())
        done = await sign_in(client, provider="google", redirect_to="/verified-only")
        assert done.headers["location"] == "/verified-only"
        assert (await client.get("/verified-only")).json()["user_id"] == user_id
        async with module.SessionLocal() as db:
            linked = await module.auth.repo.get_by_id(db, user_id)
        assert linked.google_id == "fake-user-1"
    async with example_client("email_password_and_google") as (_module, client):
        assert (await login(client, "ada")).status_code == 200


async def test_google_claims_unverified_account(example_client: Any, google: Any) -> None:
    async with example_client("email_password_and_google") as (module, client):
        point_at_fake(module, google)
        registered = await client.post("/register", json=SIGNUP)
        user_id = registered.json()["id"]
        assert (await login(client, "ada")).status_code == 200
        assert (await client.get("/verified-only")).status_code == 403
        google.provider.queue(identity())
        async with second_browser(module) as owner:
            done = await sign_in(owner, provider="google")
            assert callback_error(done) is None
            assert (await owner.get("/verified-only")).json()["user_id"] == user_id
        # The registrant's session and password died with the claim.
        assert (await client.get("/me")).status_code == 401
        assert (await login(client, "ada")).status_code == 401


async def test_google_user_sets_password(example_client: Any, google: Any) -> None:
    async with example_client("email_password_and_google") as (module, client):
        point_at_fake(module, google)
        google.provider.queue(identity())
        await sign_in(client, provider="google")
        response = await client.post(
            "/set-password",
            json={"new_password": "A-brand-new-password"},
            headers=csrf_headers(client),
        )
        assert response.status_code == 200, response.text
        assert (await login(client, "ada", "A-brand-new-password")).status_code == 200


async def test_unverified_google_email_never_links(example_client: Any, google: Any) -> None:
    async with example_client("email_password_and_google") as (module, client):
        point_at_fake(module, google)
        registered = await client.post("/register", json=SIGNUP)
        google.provider.queue(identity(email_verified=False))
        done = await sign_in(client, provider="google")
        assert done.headers["location"] == "/signin?error=email_unverified"
        async with module.SessionLocal() as db:
            user = await module.auth.repo.get_by_id(db, registered.json()["id"])
        assert user.google_id is None
