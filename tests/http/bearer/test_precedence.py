"""Transport order, narrowing and the hard-fail rules of bearer authentication."""

import base64
import json
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI

from crudauth import BearerTransport, Principal, SessionTransport
from crudauth.transports.bearer.tokens import create_access_token
from support import csrf_headers, login

GARBAGE = {"Authorization": "Bearer not-a-jwt"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def build(make_app: Any, *transports: Any) -> Any:
    """Return an app over ``transports`` with narrowed and optional routes added."""
    test_app = await make_app(transports=list(transports))
    auth = test_app.auth
    app: FastAPI = test_app.app
    names = {t.name for t in transports}

    @app.get("/optional")
    async def optional(
        principal: Principal | None = Depends(auth.current_user(optional=True)),
    ) -> dict[str, Any]:
        if principal is None:
            return {"auth": False}
        return {"auth": True, "via": principal.transport}

    if "bearer" in names:

        @app.get("/bearer-only")
        async def bearer_only(
            principal: Principal = Depends(auth.current_user(transport="bearer")),
        ) -> dict[str, Any]:
            return {"user_id": principal.user_id, "via": principal.transport}

    if "session" in names:

        @app.get("/session-only")
        async def session_only(
            principal: Principal = Depends(auth.current_user(transport="session")),
        ) -> dict[str, Any]:
            return {"user_id": principal.user_id, "via": principal.transport}

    return test_app


async def valid_token(test_app: Any, user: Any) -> str:
    token: str = (await test_app.auth.issue_tokens(user))["access_token"]
    return token


def expired_token(test_app: Any, user: Any) -> str:
    return create_access_token(
        {"sub": str(user.id), "ver": 0},
        test_app.auth.runtime.secret_key,
        expires_delta=timedelta(seconds=-1),
        scopes=[],
    )


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Invalid token"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


# -- [session, bearer] ----------------------------------------------------------------


async def test_session_first_both_valid(make_app: Any) -> None:
    test_app = await build(make_app, SessionTransport(), BearerTransport())
    user = await test_app.create_user()
    token = await valid_token(test_app, user)
    async with test_app.client() as client:
        await login(client)
        response = await client.get("/protected", headers=bearer(token))

    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user.id, "via": "session"}


async def test_session_first_garbage_bearer(make_app: Any) -> None:
    test_app = await build(make_app, SessionTransport(), BearerTransport())
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.get("/protected", headers=GARBAGE)

    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user.id, "via": "session"}


async def test_session_cookie_on_bearer_route_401(make_app: Any) -> None:
    test_app = await build(make_app, SessionTransport(), BearerTransport())
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.get("/bearer-only")

    assert response.status_code == 401, response.text


async def test_bearer_on_bearer_route(make_app: Any) -> None:
    test_app = await build(make_app, SessionTransport(), BearerTransport())
    user = await test_app.create_user()
    async with test_app.client() as client:
        response = await client.get(
            "/bearer-only", headers=bearer(await valid_token(test_app, user))
        )

    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user.id, "via": "bearer"}


async def test_bearer_on_session_route_401(make_app: Any) -> None:
    test_app = await build(make_app, SessionTransport(), BearerTransport())
    user = await test_app.create_user()
    async with test_app.client() as client:
        response = await client.get(
            "/session-only", headers=bearer(await valid_token(test_app, user))
        )

    assert response.status_code == 401, response.text


async def test_session_first_bearer_only_caller(make_app: Any) -> None:
    test_app = await build(make_app, SessionTransport(), BearerTransport())
    user = await test_app.create_user()
    async with test_app.client() as client:
        response = await client.get("/protected", headers=bearer(await valid_token(test_app, user)))

    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user.id, "via": "bearer"}


# -- [bearer, session] ----------------------------------------------------------------


async def test_bearer_first_both_valid(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport(), SessionTransport())
    user = await test_app.create_user()
    token = await valid_token(test_app, user)
    async with test_app.client() as client:
        await login(client)
        response = await client.get("/protected", headers=bearer(token))

    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user.id, "via": "bearer"}


async def test_bearer_first_garbage_hard_fails(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport(), SessionTransport())
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.get("/protected", headers=GARBAGE)

    assert_invalid_token(response)


async def test_bearer_first_expired_falls_through(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport(), SessionTransport())
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.get("/protected", headers=bearer(expired_token(test_app, user)))

    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user.id, "via": "session"}


async def test_bearer_first_garbage_hard_fails_optional(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport(), SessionTransport())
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.get("/optional", headers=GARBAGE)

    assert_invalid_token(response)


async def test_bearer_post_needs_no_csrf(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport(), SessionTransport())
    user = await test_app.create_user()
    token = await valid_token(test_app, user)
    async with test_app.client() as client:
        await login(client)
        response = await client.post("/protected", headers=bearer(token))

    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user.id, "via": "bearer"}


async def test_session_post_still_needs_csrf(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport(), SessionTransport())
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        without = await client.post("/protected")
        with_header = await client.post("/protected", headers=csrf_headers(client))

    assert without.status_code == 403, without.text
    assert with_header.status_code == 200, with_header.text


# -- single bearer transport ----------------------------------------------------------


async def test_bearer_only_no_header_401(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport())
    async with test_app.client() as client:
        response = await client.get("/protected")
        optional = await client.get("/optional")

    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Not authenticated"}
    assert optional.json() == {"auth": False}


async def test_bearer_only_garbage_401(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport())
    async with test_app.client() as client:
        required = await client.get("/protected", headers=GARBAGE)
        optional = await client.get("/optional", headers=GARBAGE)

    assert_invalid_token(required)
    assert_invalid_token(optional)


async def test_bearer_only_expired(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport())
    user = await test_app.create_user()
    headers = bearer(expired_token(test_app, user))
    async with test_app.client() as client:
        required = await client.get("/protected", headers=headers)
        optional = await client.get("/optional", headers=headers)

    assert required.status_code == 401, required.text
    assert required.json() == {"detail": "Not authenticated"}
    assert optional.status_code == 200, optional.text
    assert optional.json() == {"auth": False}


async def test_bearer_only_valid_optional(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport())
    user = await test_app.create_user()
    async with test_app.client() as client:
        response = await client.get("/optional", headers=bearer(await valid_token(test_app, user)))

    assert response.json() == {"auth": True, "via": "bearer"}


async def test_other_scheme_is_anonymous(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport())
    async with test_app.client() as client:
        response = await client.get("/optional", headers={"Authorization": "Basic YTpi"})

    assert response.status_code == 200, response.text
    assert response.json() == {"auth": False}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_tampered_payload_401(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport())
    user = await test_app.create_user()
    header, payload, signature = (await valid_token(test_app, user)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scopes"] = ["admin"]
    tampered = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    async with test_app.client() as client:
        response = await client.get("/protected", headers=bearer(tampered))

    assert_invalid_token(response)


async def test_alg_none_401(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport())
    user = await test_app.create_user()
    claims = {"sub": str(user.id), "ver": 0, "scopes": [], "token_type": "access"}
    token = jwt.encode({**claims, "exp": 4_000_000_000}, key="", algorithm="none")
    async with test_app.client() as client:
        response = await client.get("/protected", headers=bearer(token))

    assert_invalid_token(response)


async def test_other_algorithm_401(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport())
    user = await test_app.create_user()
    claims = {"sub": str(user.id), "ver": 0, "scopes": [], "token_type": "access"}
    token = jwt.encode(
        {**claims, "exp": 4_000_000_000},
        test_app.auth.runtime.secret_key + "-padded-to-sixty-four-bytes-for-hs512",
        algorithm="HS512",
    )
    async with test_app.client() as client:
        response = await client.get("/protected", headers=bearer(token))

    assert_invalid_token(response)


async def test_refresh_token_as_access_401(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport())
    user = await test_app.create_user()
    refresh_token = (await test_app.auth.issue_tokens(user))["refresh_token"]
    async with test_app.client() as client:
        response = await client.get("/protected", headers=bearer(refresh_token))

    assert_invalid_token(response)


async def test_token_without_sub_401(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport())
    token = create_access_token({"ver": 0}, test_app.auth.runtime.secret_key, scopes=[])
    async with test_app.client() as client:
        response = await client.get("/protected", headers=bearer(token))

    assert_invalid_token(response)


async def test_token_for_unknown_id_anonymous(make_app: Any) -> None:
    test_app = await build(make_app, BearerTransport())
    key = test_app.auth.runtime.secret_key
    headers = [
        bearer(create_access_token({"sub": "999", "ver": 0}, key, scopes=[])),
        bearer(create_access_token({"sub": "not-a-number", "ver": 0}, key, scopes=[])),
    ]
    async with test_app.client() as client:
        responses = [await client.get("/optional", headers=h) for h in headers]

    for response in responses:
        assert response.status_code == 200, response.text
        assert response.json() == {"auth": False}


# -- narrowing ------------------------------------------------------------------------


async def test_unknown_transport_name_raises(make_app: Any) -> None:
    test_app = await make_app(transports=[SessionTransport(), BearerTransport()])

    with pytest.raises(ValueError):
        test_app.auth.current_user(transport="apikey")
    with pytest.raises(ValueError):
        test_app.auth.current_user(transport=["bearer", "apikey"])


async def test_bearer_name_unknown_without_bearer(make_app: Any) -> None:
    test_app = await make_app(transports=[SessionTransport()])

    with pytest.raises(ValueError):
        test_app.auth.current_user(transport="bearer")


async def test_narrowing_to_list_keeps_order(make_app: Any) -> None:
    test_app = await make_app(transports=[SessionTransport(), BearerTransport()])
    auth = test_app.auth
    app: FastAPI = test_app.app
    user = await test_app.create_user()

    @app.get("/either")
    async def either(
        principal: Principal = Depends(auth.current_user(transport=["bearer", "session"])),
    ) -> dict[str, Any]:
        return {"via": principal.transport}

    token = await valid_token(test_app, user)
    async with test_app.client() as client:
        bearer_only = await client.get("/either", headers=bearer(token))
        await login(client)
        both = await client.get("/either", headers=bearer(token))

    assert bearer_only.json() == {"via": "bearer"}
    # Configured order wins over the order of the names: the session is listed first.
    assert both.json() == {"via": "session"}
