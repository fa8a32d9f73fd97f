"""``POST /token``: delivery modes, cookie attributes, scopes, lockout and hooks."""

from typing import Any

import httpx

from crudauth import AuthHooks, BearerTransport, CookieConfig, SessionTransport
from crudauth.ratelimit import LockoutConfig
from crudauth.transports.bearer.tokens import TokenType, verify_token
from support import login

WRONG_PASSWORD = "Wrong-Password-9"


async def post_token(
    client: httpx.AsyncClient,
    username: str = "alice",
    password: str = "Correct-Horse-1",
    **form: str,
) -> httpx.Response:
    return await client.post("/token", data={"username": username, "password": password, **form})


def access_claims(test_app: Any, token: str) -> dict[str, Any]:
    runtime = test_app.auth.runtime
    claims = verify_token(token, runtime.secret_key, TokenType.ACCESS, algorithm=runtime.algorithm)
    assert claims is not None
    return claims


def refresh_set_cookie(response: httpx.Response) -> str:
    cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith("refresh_token=")]
    assert len(cookies) == 1, response.headers.get_list("set-cookie")
    return cookies[0]


async def test_token_cookie_mode_sets_cookie(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    await test_app.create_user()
    async with test_app.client() as client:
        response = await post_token(client)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type"}
    assert body["token_type"] == "bearer"
    assert "refresh_token" in response.cookies
    cookie = refresh_set_cookie(response)
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/;" in cookie or cookie.endswith("Path=/")
    assert "Max-Age=2592000" in cookie


async def test_token_refresh_cookie_path(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh_cookie_path="/auth/refresh")])
    await test_app.create_user()
    async with test_app.client() as client:
        response = await post_token(client)

    assert response.status_code == 200, response.text
    assert "Path=/auth/refresh" in refresh_set_cookie(response)


async def test_token_cookie_max_age_follows_days(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh_ttl_days=2)])
    await test_app.create_user()
    async with test_app.client() as client:
        response = await post_token(client)

    assert "Max-Age=172800" in refresh_set_cookie(response)


async def test_token_cookie_follows_app_policy(make_app: Any) -> None:
    test_app = await make_app(
        transports=[BearerTransport()], cookies=CookieConfig(secure=False, samesite="strict")
    )
    await test_app.create_user()
    async with test_app.client() as client:
        response = await post_token(client)

    cookie = refresh_set_cookie(response)
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie


async def test_token_cookie_override_samesite_none(make_app: Any) -> None:
    transport = BearerTransport(cookies=CookieConfig(secure=True, samesite="none"))
    test_app = await make_app(transports=[transport])
    await test_app.create_user()
    async with test_app.client() as client:
        response = await post_token(client)

    cookie = refresh_set_cookie(response)
    assert "SameSite=none" in cookie
    assert "Secure" in cookie


async def test_token_body_mode_returns_refresh(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    await test_app.create_user()
    async with test_app.client() as client:
        response = await post_token(client)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type"}
    assert body["token_type"] == "bearer"
    assert response.headers.get_list("set-cookie") == []


async def test_token_access_claims(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(access_ttl=600)])
    user = await test_app.create_user()
    async with test_app.client() as client:
        response = await post_token(client)

    claims = access_claims(test_app, response.json()["access_token"])
    assert claims["sub"] == str(user.id)
    assert claims["ver"] == 0
    assert claims["scopes"] == []
    assert claims["token_type"] == "access"
    assert set(claims) == {"sub", "ver", "scopes", "token_type", "exp", "fam"}


async def test_token_access_authenticates(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    user = await test_app.create_user()
    async with test_app.client() as client:
        token = (await post_token(client)).json()["access_token"]
        response = await client.get("/protected", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user.id, "via": "bearer"}


async def test_token_login_by_email(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    await test_app.create_user()
    async with test_app.client() as client:
        response = await post_token(client, username="alice@example.com")

    assert response.status_code == 200, response.text


async def test_token_wrong_password_401(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    await test_app.create_user()
    async with test_app.client() as client:
        response = await post_token(client, password=WRONG_PASSWORD)

    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Incorrect username or password"}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers.get_list("set-cookie") == []


async def test_token_unknown_user_same_body(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    await test_app.create_user()
    async with test_app.client() as client:
        wrong_password = await post_token(client, password=WRONG_PASSWORD)
        unknown_user = await post_token(client, username="nobody")

    assert unknown_user.status_code == 401, unknown_user.text
    assert unknown_user.content == wrong_password.content
    assert unknown_user.headers["WWW-Authenticate"] == "Bearer"


async def test_token_inactive_user_401(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    await test_app.create_user(is_active=False)
    async with test_app.client() as client:
        response = await post_token(client)

    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Incorrect username or password"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_token_missing_fields_422(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    async with test_app.client() as client:
        no_password = await client.post("/token", data={"username": "alice"})
        no_username = await client.post("/token", data={"password": "Correct-Horse-1"})

    assert no_password.status_code == 422, no_password.text
    assert no_username.status_code == 422, no_username.text


async def test_token_other_grant_type_422(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    await test_app.create_user()
    async with test_app.client() as client:
        response = await post_token(client, grant_type="client_credentials")

    assert response.status_code == 422, response.text


async def test_token_password_grant_type_accepted(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    await test_app.create_user()
    async with test_app.client() as client:
        response = await post_token(
            client, grant_type="password", client_id="app", client_secret="ignored"
        )

    assert response.status_code == 200, response.text


async def test_token_cross_site_cookie_mode_403(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    await test_app.create_user()
    async with test_app.client() as client:
        response = await client.post(
            "/token",
            data={"username": "alice", "password": "Correct-Horse-1"},
            headers={"Sec-Fetch-Site": "cross-site"},
        )

    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "Cross-site login requests are not allowed."}
    assert response.headers.get_list("set-cookie") == []


async def test_token_cross_site_body_mode_allowed(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    await test_app.create_user()
    async with test_app.client() as client:
        response = await client.post(
            "/token",
            data={"username": "alice", "password": "Correct-Horse-1"},
            headers={"Sec-Fetch-Site": "cross-site"},
        )

    assert response.status_code == 200, response.text


async def test_token_same_site_header_allowed(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    await test_app.create_user()
    async with test_app.client() as client:
        response = await client.post(
            "/token",
            data={"username": "alice", "password": "Correct-Horse-1"},
            headers={"Sec-Fetch-Site": "same-origin"},
        )

    assert response.status_code == 200, response.text


async def test_token_scope_outside_ceiling_dropped(make_app: Any) -> None:
    transport = BearerTransport(grantable_scopes=["reports:read"])
    test_app = await make_app(transports=[transport])
    await test_app.create_user()
    async with test_app.client() as client:
        response = await post_token(client, scope="admin reports:read")

    assert response.status_code == 200, response.text
    assert access_claims(test_app, response.json()["access_token"])["scopes"] == ["reports:read"]


async def test_token_without_scope_uses_defaults(make_app: Any) -> None:
    transport = BearerTransport(default_scopes=["read"], grantable_scopes=["read", "write"])
    test_app = await make_app(transports=[transport])
    await test_app.create_user()
    async with test_app.client() as client:
        default = await post_token(client)
        requested = await post_token(client, scope="write")

    assert access_claims(test_app, default.json()["access_token"])["scopes"] == ["read"]
    assert access_claims(test_app, requested.json()["access_token"])["scopes"] == ["write"]


async def test_token_lockout_429(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()], lockout=LockoutConfig(max_attempts=2))
    await test_app.create_user()
    async with test_app.client() as client:
        first = await post_token(client, password=WRONG_PASSWORD)
        second = await post_token(client, password=WRONG_PASSWORD)
        third = await post_token(client, password=WRONG_PASSWORD)
        correct = await post_token(client)

    assert first.status_code == 401, first.text
    assert second.status_code == 401, second.text
    assert third.status_code == 429, third.text
    assert third.json() == {"detail": "Too many login attempts. Try again later."}
    assert int(third.headers["Retry-After"]) > 0
    assert correct.status_code == 429, correct.text


async def test_login_lockout_blocks_token(make_app: Any) -> None:
    test_app = await make_app(
        transports=[SessionTransport(), BearerTransport()],
        lockout=LockoutConfig(max_attempts=2),
    )
    await test_app.create_user()
    async with test_app.client() as client:
        for _ in range(3):
            await login(client, password=WRONG_PASSWORD)
        response = await post_token(client)

    assert response.status_code == 429, response.text
    assert "Retry-After" in response.headers


async def test_token_lockout_blocks_login(make_app: Any) -> None:
    test_app = await make_app(
        transports=[SessionTransport(), BearerTransport()],
        lockout=LockoutConfig(max_attempts=2),
    )
    await test_app.create_user()
    async with test_app.client() as client:
        for _ in range(3):
            await post_token(client, password=WRONG_PASSWORD)
        response = await login(client)

    assert response.status_code == 429, response.text
    assert "Retry-After" in response.headers


async def test_token_fires_on_after_login(make_app: Any) -> None:
    calls: list[tuple[dict[str, Any], dict[str, Any]]] = []

    async def on_after_login(user: dict[str, Any], **kwargs: Any) -> None:
        calls.append((user, kwargs))

    test_app = await make_app(
        transports=[BearerTransport()], hooks=AuthHooks(on_after_login=on_after_login)
    )
    user = await test_app.create_user()
    async with test_app.client() as client:
        response = await client.post(
            "/token",
            data={"username": "alice", "password": "Correct-Horse-1"},
            headers={"User-Agent": "bearer-tests/1.0"},
        )

    assert response.status_code == 200, response.text
    assert len(calls) == 1
    user_dict, kwargs = calls[0]
    assert user_dict["id"] == user.id
    assert user_dict["username"] == "alice"
    context = kwargs["context"]
    assert context.transport == "bearer"
    assert context.user_agent == "bearer-tests/1.0"
    assert context.ip_address is not None
    assert context.request is kwargs["request"]
    assert context.session_handle is None


async def test_token_failure_skips_on_after_login(make_app: Any) -> None:
    calls: list[Any] = []

    def on_after_login(user: dict[str, Any], **kwargs: Any) -> None:
        calls.append(user)

    test_app = await make_app(
        transports=[BearerTransport()], hooks=AuthHooks(on_after_login=on_after_login)
    )
    await test_app.create_user()
    async with test_app.client() as client:
        await post_token(client, password=WRONG_PASSWORD)

    assert calls == []


async def test_token_algorithm_follows_facade(make_app: Any) -> None:
    test_app = await make_app(
        transports=[BearerTransport()],
        algorithm="HS512",
        SECRET_KEY="hs512-needs-a-longer-key-" + "0123456789abcdef" * 3,
    )
    await test_app.create_user()
    async with test_app.client() as client:
        token = (await post_token(client)).json()["access_token"]
        response = await client.get("/protected", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.text
    assert access_claims(test_app, token)["token_type"] == "access"
