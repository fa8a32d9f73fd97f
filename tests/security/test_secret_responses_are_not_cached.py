"""Every crudauth route answers with ``Cache-Control: no-store``."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from fastapi import FastAPI

from crudauth import MfaConfig
from oauth_support import mfa_oidc_model, oidc_settings
from security_support import identity
from support import csrf_headers, login


async def full_app(make_app: Any, fake: Any) -> Any:
    from security_support import full_kwargs

    mfa = MfaConfig(issuer="test", encryption_key=Fernet.generate_key())
    test_app = await make_app(mfa_oidc_model(), mfa=mfa, **full_kwargs(), **oidc_settings(fake))
    await test_app.create_user(email_verified=True)
    return test_app


def routes_of(router: Any) -> list[tuple[str, str]]:
    """Every method and path ``router`` serves, read from an app that includes only it."""
    app = FastAPI()
    app.include_router(router)
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    ]


async def test_every_route_of_the_router_sends_no_store(make_app: Any, fake: Any) -> None:
    test_app = await full_app(make_app, fake)
    fake.provider.queue(identity())
    seen: set[tuple[str, str]] = set()
    checked = 0
    expected = set(routes_of(test_app.auth.router))
    assert len(expected) > 20
    async with test_app.client() as client:
        await login(client)
        for method, path in sorted(expected):
            url = path.replace("{session_handle}", "unknown").replace("{provider}", "oidc")
            url = url.replace("{", "").replace("}", "")
            response = await client.request(method, url, headers=csrf_headers(client))
            assert response.status_code < 500, (method, path, response.text)
            seen.add((method, path))
            if response.status_code == 422:
                continue  # a request-validation refusal carries nothing worth caching
            assert response.headers.get("cache-control") == "no-store", (
                method,
                path,
                response.status_code,
            )
            checked += 1
    assert seen == expected
    assert checked > 15


async def test_secret_bearing_successes_send_no_store(make_app: Any, fake: Any) -> None:
    test_app = await full_app(make_app, fake)
    async with test_app.client() as client:
        answers = [await login(client)]
        answers.append(await client.post("/csrf/refresh"))
        pair = await client.post(
            "/token", data={"username": "alice", "password": "Correct-Horse-1"}
        )
        answers.append(pair)
        refresh_token = pair.json()["refresh_token"]
        answers.append(await client.post("/refresh", json={"refresh_token": refresh_token}))
        answers.append(
            await client.post(
                "/mfa/totp/setup",
                json={"password": "Correct-Horse-1"},
                headers=csrf_headers(client),
            )
        )
        body = {"email": "new@example.com", "username": "newbie", "password": "Valid-Pass-123"}
        answers.append(await client.post("/register", json=body))
        fake.provider.queue(identity())
        started = await client.get("/oauth/oidc/authorize")
        answers.append(started)
    for answer in answers:
        assert answer.status_code < 400, (answer.request.url, answer.text)
        assert answer.headers["cache-control"] == "no-store", answer.request.url


def test_sub_routers_send_no_store_too() -> None:
    from crudauth import CRUDAuth
    from security_support import full_kwargs
    from support import default_model

    async def get_db() -> Any:
        return None

    auth = CRUDAuth(
        session=get_db,
        user_model=default_model(),
        SECRET_KEY="test-secret-key-that-is-long-enough-0123456789",
        warn_on_memory_backend=False,
        **full_kwargs(),
    )
    for router in (auth.session_router, auth.bearer_router):
        for route in router.routes:
            assert getattr(route, "_crudauth_no_store", False), route
