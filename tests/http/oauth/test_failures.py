"""Refused callbacks: state binding, provider failures, ID tokens and redirect targets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from crudauth import OAuthCredentials
from oauth_support import (
    BASE_URL,
    callback_error,
    fake_provider_module,
    oidc_model,
    oidc_settings,
    query,
    sign_in,
    visit_provider,
)


def identity(**changes: Any) -> Any:
    return fake_provider_module().Identity(**changes)


async def start(client: Any, **params: str) -> tuple[str, str]:
    """Start a flow; return the provider URL and the state."""
    started = await client.get("/oauth/oidc/authorize", params=params)
    assert started.status_code == 307, started.text
    location = started.headers["location"]
    return location, query(location)["state"]


def clears_state_cookie(response: Any) -> bool:
    cookies = response.headers.get_list("set-cookie")
    return any(c.startswith("oauth_state=") and "Max-Age=0" in c for c in cookies)


async def test_unknown_state_is_invalid(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    async with app.client() as client:
        client.cookies.set("oauth_state", "forged")
        done = await client.get("/oauth/oidc/callback", params={"code": "c", "state": "forged"})
        assert done.status_code == 307
        assert callback_error(done) == "invalid_state"
        assert done.headers["location"] == f"{BASE_URL}?error=invalid_state"
        assert (await client.get("/me")).status_code == 401


async def test_foreign_browser_replay_refused(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue(identity())
    async with app.client() as owner:
        location, _state = await start(owner, redirect_to="/dashboard")
        callback = (await visit_provider(location)).headers["location"]
        async with app.client() as attacker:
            replay = await attacker.get(callback)
            assert callback_error(replay) == "invalid_state"
            assert (await attacker.get("/me")).status_code == 401
        # The refusal happened before the stored state was touched.
        done = await owner.get(callback)
        assert done.headers["location"] == "/dashboard"
        assert (await owner.get("/me")).status_code == 200


async def test_cleared_cookies_replay_refused(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue(identity())
    async with app.client() as client:
        location, _state = await start(client)
        callback = (await visit_provider(location)).headers["location"]
        client.cookies.clear()
        done = await client.get(callback)
        assert callback_error(done) == "invalid_state"
        assert (await client.get("/me")).status_code == 401


async def test_state_is_single_use(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue(identity())
    async with app.client() as client:
        location, state = await start(client)
        callback = (await visit_provider(location)).headers["location"]
        first = await client.get(callback)
        assert callback_error(first) is None
        client.cookies.delete("session_id")
        client.cookies.set("oauth_state", state)
        second = await client.get(callback)
        assert callback_error(second) == "invalid_state"
        assert (await client.get("/me")).status_code == 401


async def test_concurrent_callbacks_one_wins(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue(identity())
    async with app.client() as client:
        location, state = await start(client)
        callback = (await visit_provider(location)).headers["location"]
        cookies = {"oauth_state": state}
        async with app.client(cookies=cookies) as one, app.client(cookies=cookies) as two:
            results = await asyncio.gather(one.get(callback), two.get(callback))
    errors = sorted(str(callback_error(result)) for result in results)
    assert errors == ["None", "invalid_state"]


async def test_state_of_other_provider_refused(make_app: Any, fake: Any) -> None:
    settings = oidc_settings(fake)
    settings["oauth"]["google"] = OAuthCredentials(
        client_id="crudauth-test", client_secret="x", issuer=fake.base_url
    )
    app = await make_app(oidc_model(), **settings)
    async with app.client() as client:
        _location, state = await start(client)
        done = await client.get("/oauth/google/callback", params={"code": "c", "state": state})
    assert callback_error(done) == "invalid_state"


async def test_consent_denied_fails(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue("access_denied")
    async with app.client() as client:
        done = await sign_in(client)
        assert done.status_code == 307
        assert callback_error(done) == "oauth_failed"
        assert clears_state_cookie(done)
        assert (await client.get("/me")).status_code == 401
    assert fake.provider.token_requests == []


async def test_missing_code_fails(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    async with app.client() as client:
        _location, state = await start(client)
        done = await client.get("/oauth/oidc/callback", params={"state": state})
    assert callback_error(done) == "oauth_failed"


@pytest.mark.parametrize(
    "faults",
    [
        {"token_status": 500},
        {"token_status": 400},
        {"userinfo_status": 500},
        {"token_body": {"error": "bad_verification_code"}},
        {"token_body": ["not", "an", "object"]},
        {"userinfo_body": ["not", "an", "object"]},
        {"userinfo_body": {"email": "no-subject@example.com"}},
        {"id_token": "bad_signature"},
        {"id_token": "wrong_audience"},
        {"id_token": "wrong_issuer"},
        {"id_token": "expired"},
        {"id_token": "missing"},
        {"id_token": "other_subject"},
    ],
    ids=lambda faults: "-".join(f"{key}={value}" for key, value in faults.items())[:40],
)
async def test_provider_faults_fail(make_app: Any, fake: Any, faults: dict[str, Any]) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.faults.update(faults)
    fake.provider.queue(identity())
    async with app.client() as client:
        done = await sign_in(client)
        assert done.status_code == 307, done.text
        assert callback_error(done) == "oauth_failed"
        assert clears_state_cookie(done)
        assert "session_id" not in client.cookies
        assert (await client.get("/me")).status_code == 401
    async with app.sessionmaker() as db:
        assert await app.auth.repo.get_by_email(db, "ada@example.com") is None


async def test_userinfo_without_sub_is_plain_400(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.faults["userinfo_body"] = {"email": "ada@example.com"}
    fake.provider.faults["id_token"] = "missing"
    app.auth.oauth_providers["oidc"].jwks_uri = ""
    fake.provider.queue(identity())
    async with app.client() as client:
        done = await sign_in(client)
    assert done.status_code == 400, done.text
    assert "sub" in done.json()["detail"]


async def test_token_timeout_fails(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    app.auth.oauth_providers["oidc"].http_timeout = 0.2
    fake.provider.faults["token_delay"] = 1.0
    fake.provider.queue(identity())
    async with app.client() as client:
        done = await sign_in(client)
    assert callback_error(done) == "oauth_failed"


async def test_provider_down_fails(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue(identity())
    async with app.client() as client:
        location, _state = await start(client)
        callback = (await visit_provider(location)).headers["location"]
        # Nothing listens on port 9 of loopback: the exchange cannot connect.
        app.auth.oauth_providers["oidc"].token_endpoint = "http://127.0.0.1:9/token"
        done = await client.get(callback)
    assert callback_error(done) == "oauth_failed"


async def test_json_mode_failures(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), oauth_response_mode="json", **oidc_settings(fake))
    async with app.client() as client:
        started = await client.get("/oauth/oidc/authorize")
        state = query(started.json()["url"])["state"]
        denied = await client.get(
            "/oauth/oidc/callback", params={"error": "access_denied", "state": state}
        )
        assert denied.status_code == 400
        assert denied.json() == {"detail": "oauth_failed"}
        assert clears_state_cookie(denied)
        forged = await client.get("/oauth/oidc/callback", params={"code": "c", "state": "x"})
        assert forged.status_code == 400
        assert forged.json() == {"detail": "Invalid or expired OAuth state"}
        assert not clears_state_cookie(forged)


async def test_error_joins_default_with_ampersand(make_app: Any, fake: Any) -> None:
    app = await make_app(
        oidc_model(), oauth_default_redirect="/signin?next=home", **oidc_settings(fake)
    )
    fake.provider.queue("access_denied")
    async with app.client() as client:
        done = await sign_in(client)
    assert done.headers["location"] == "/signin?next=home&error=oauth_failed"


HOSTILE_TARGETS = [
    "https://evil.com",
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "/\\/evil.com",
    "\\/evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "HTTPS://evil.com",
    "/%2f%2fevil.com",
    "/%5cevil.com",
    "/\tevil",
    "/%0d%0aSet-Cookie:x",
    "/\x00evil",
]


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
async def test_hostile_redirect_lands_on_default(make_app: Any, fake: Any, target: str) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue(identity())
    async with app.client() as client:
        done = await sign_in(client, redirect_to=target)
        assert done.status_code == 307
        assert done.headers["location"] == BASE_URL
        assert (await client.get("/me")).status_code == 200


@pytest.mark.parametrize("target", ["/dashboard", "/a/b?c=d", "/"])
async def test_safe_redirect_is_honoured(make_app: Any, fake: Any, target: str) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue(identity())
    async with app.client() as client:
        done = await sign_in(client, redirect_to=target)
    assert done.headers["location"] == target
