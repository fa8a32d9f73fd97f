"""OAuth sign-in links or claims an account only through an email the provider proved."""

from __future__ import annotations

from typing import Any

import pytest

from crudauth import is_unusable_password
from oauth_support import BASE_URL, callback_error
from provider_mocks import github_profile, google_profile, oauth_sign_in, provider_app
from security_support import cookie_headers
from support import ALICE, login

CAROL = {"email": "carol@example.com", "username": "carol", "password": "Carol-Pass-33"}
SQUATTER = {"email": "dana@example.com", "username": "dana_x", "password": "Squatter-Pw-1"}


async def with_accounts(test_app: Any) -> dict[str, Any]:
    alice = await test_app.create_user(email_verified=True)
    carol = await test_app.create_user(
        email=CAROL["email"],
        username=CAROL["username"],
        password=CAROL["password"],
        email_verified=True,
    )
    return {"alice": alice, "carol": carol}


async def session_handles(test_app: Any, user_id: Any) -> set[str]:
    rows = await test_app.auth.sessions.list_for_user(user_id)
    return {row["id"] for row in rows}


async def test_verified_provider_email_claims_squatted_account(make_app: Any) -> None:
    test_app = await provider_app(make_app)
    await with_accounts(test_app)
    async with test_app.client() as squatter:
        registered = await squatter.post("/register", json=SQUATTER)
        assert registered.status_code in (200, 201, 202), registered.text
        assert (await login(squatter, SQUATTER["email"], SQUATTER["password"])).status_code == 200
        squatter_session = squatter.cookies["session_id"]
        user_id = (await squatter.get("/me")).json()["user_id"]

        test_app.extras["providers"].queue(
            "google", google_profile("dana@example.com", verified=True)
        )
        async with test_app.client() as dana:
            done = await oauth_sign_in(dana, "google")
            assert done.status_code == 307, done.text
            assert callback_error(done) is None
            assert (await dana.get("/me")).json()["user_id"] == user_id
        # The squatter's earlier session died with the claim.
        assert (await squatter.get("/me")).status_code == 401
    assert await test_app.auth.sessions.get_session(squatter_session) is None

    claimed = await test_app.get_user(user_id)
    assert is_unusable_password(claimed.hashed_password)
    assert claimed.email_verified is True
    assert claimed.google_id == "google-1"
    async with test_app.client() as client:
        rejected = await login(client, SQUATTER["email"], SQUATTER["password"])
    assert rejected.status_code == 401, rejected.text


@pytest.mark.parametrize(
    ("provider", "owner", "profile"),
    [
        ("github", "carol", github_profile(CAROL["email"], verified=False)),
        ("google", "alice", google_profile(ALICE["email"], verified=False)),
        ("google", "alice", google_profile(ALICE["email"], verified="true")),
    ],
)
async def test_unverified_provider_email_never_links(
    make_app: Any, provider: str, owner: str, profile: dict[str, Any]
) -> None:
    test_app = await provider_app(make_app)
    accounts = await with_accounts(test_app)
    user = accounts[owner]
    password = CAROL["password"] if owner == "carol" else ALICE["password"]
    async with test_app.client() as owner_browser:
        assert (await login(owner_browser, owner, password)).status_code == 200
    before = await session_handles(test_app, user.id)

    test_app.extras["providers"].queue(provider, profile)
    async with test_app.client() as attacker:
        done = await oauth_sign_in(attacker, provider)
        assert done.status_code == 307, done.text
        assert done.headers["location"] == f"{BASE_URL}?error=email_unverified"
        assert cookie_headers(done, "session_id") == []
        assert (await attacker.get("/me")).status_code == 401

    assert await session_handles(test_app, user.id) == before
    stored = await test_app.get_user(user.id)
    assert stored.google_id is None
    assert stored.github_id is None


async def test_unverified_email_in_json_mode_is_400(make_app: Any) -> None:
    test_app = await provider_app(make_app, mode="json")
    accounts = await with_accounts(test_app)
    test_app.extras["providers"].queue("github", github_profile(CAROL["email"], verified=False))
    async with test_app.client() as attacker:
        done = await oauth_sign_in(attacker, "github")
    assert done.status_code == 400, done.text
    assert done.json() == {"detail": "email_unverified"}
    assert cookie_headers(done, "session_id") == []
    assert (await test_app.get_user(accounts["carol"].id)).github_id is None
