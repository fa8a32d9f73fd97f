"""``current_user`` gates, optional callers and one resolution per request."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Depends

from crudauth import ForbiddenException, Principal
from crudauth.ratelimit import KeyBy, RateLimit
from support import csrf_headers, login


async def _app_with_routes(make_app: Any, **kwargs: Any) -> Any:
    test_app = await make_app(**kwargs)
    auth = test_app.auth
    app = test_app.app

    @app.get("/admin")
    async def admin(p: Principal = Depends(auth.current_user(superuser=True))) -> dict[str, Any]:
        return {"ok": True}

    @app.post("/verified")
    async def verified(p: Principal = Depends(auth.current_user(verified=True))) -> dict[str, Any]:
        return {"ok": True}

    def example_domain(principal: Principal) -> None:
        if not principal.user.email.endswith("@example.com"):
            raise ForbiddenException("Wrong domain")

    @app.get("/domain")
    async def domain(p: Principal = Depends(auth.current_user(check=example_domain))) -> Any:
        return {"ok": True}

    @app.get("/deny")
    async def deny(p: Principal = Depends(auth.current_user(check=lambda p: False))) -> Any:
        return {"ok": True}

    async def async_deny(principal: Principal) -> bool:
        return False

    @app.get("/deny-async")
    async def deny_async(p: Principal = Depends(auth.current_user(check=async_deny))) -> Any:
        return {"ok": True}

    @app.get("/zero")
    async def zero(p: Principal = Depends(auth.current_user(check=lambda p: 0))) -> Any:
        return {"ok": True}

    @app.get("/maybe")
    async def maybe(p: Principal | None = Depends(auth.current_user(optional=True))) -> Any:
        return {"auth": p is not None}

    @app.get("/scoped")
    async def scoped(p: Principal = Depends(auth.current_user(scopes=["read"]))) -> Any:
        return {"ok": True}

    return test_app


async def test_superuser_gate(make_app: Any) -> None:
    test_app = await _app_with_routes(make_app)
    await test_app.create_user()
    await test_app.create_user(email="root@example.com", username="root", is_superuser=True)
    async with test_app.client() as client:
        await login(client)
        response = await client.get("/admin")
        assert response.status_code == 403, response.text
        assert response.json() == {"detail": "Insufficient privileges"}
    async with test_app.client() as client:
        await login(client, username="root")
        assert (await client.get("/admin")).status_code == 200


async def test_verified_gate(make_app: Any) -> None:
    test_app = await _app_with_routes(make_app)
    await test_app.create_user()
    await test_app.create_user(email="v@example.com", username="vera", email_verified=True)
    async with test_app.client() as client:
        await login(client)
        response = await client.post("/verified", headers=csrf_headers(client))
        assert response.status_code == 403, response.text
        assert response.json() == {"detail": "Recovery factor not verified"}
    async with test_app.client() as client:
        await login(client, username="vera")
        assert (await client.post("/verified", headers=csrf_headers(client))).status_code == 200


async def test_check_predicates(make_app: Any) -> None:
    test_app = await _app_with_routes(make_app)
    await test_app.create_user()
    await test_app.create_user(email="eve@evil.org", username="eve")
    async with test_app.client() as client:
        await login(client)
        assert (await client.get("/domain")).status_code == 200
        deny = await client.get("/deny")
        assert deny.status_code == 403
        assert deny.json() == {"detail": "Access denied"}
        assert (await client.get("/deny-async")).status_code == 403
        assert (await client.get("/zero")).status_code == 200
    async with test_app.client() as client:
        await login(client, username="eve")
        response = await client.get("/domain")
        assert response.status_code == 403
        assert response.json() == {"detail": "Wrong domain"}


async def test_optional_caller(make_app: Any) -> None:
    test_app = await _app_with_routes(make_app)
    await test_app.create_user()
    async with test_app.client() as client:
        assert (await client.get("/maybe")).json() == {"auth": False}
        await login(client)
        assert (await client.get("/maybe")).json() == {"auth": True}


async def test_scope_gate_refuses_session(make_app: Any) -> None:
    test_app = await _app_with_routes(make_app)
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.get("/scoped")
    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "Insufficient scope"}


async def test_verified_without_recovery_raises(make_app: Any) -> None:
    from crudauth import IdentityConfig

    test_app = await make_app(identity=IdentityConfig(login=["username"], recovery=None))
    with pytest.raises(ValueError, match="recovery factor"):
        test_app.auth.current_user(verified=True)


async def test_unknown_transport_name_raises(make_app: Any) -> None:
    test_app = await make_app()
    with pytest.raises(ValueError, match="apikey"):
        test_app.auth.current_user(transport="apikey")


async def test_user_loaded_once_per_request(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    test_app = await make_app()
    auth = test_app.auth

    @test_app.app.get(
        "/limited",
        dependencies=[Depends(auth.rate_limit("custom", RateLimit(100, 60), key=KeyBy.USER))],
    )
    async def limited(p: Principal = Depends(auth.current_user())) -> dict[str, Any]:
        return {"ok": True}

    await test_app.create_user()
    calls: list[Any] = []
    original = auth.repo.get_by_id

    async def counting_get_by_id(db: Any, user_id: Any) -> Any:
        calls.append(user_id)
        return await original(db, user_id)

    async with test_app.client() as client:
        await login(client)
        monkeypatch.setattr(auth.repo, "get_by_id", counting_get_by_id)
        response = await client.get("/limited")
    assert response.status_code == 200, response.text
    assert response.headers["X-RateLimit-Limit"] == "100"
    assert len(calls) == 1


async def test_rate_limit_custom_limit(make_app: Any) -> None:
    test_app = await make_app()
    auth = test_app.auth

    @test_app.app.get("/ping", dependencies=[Depends(auth.rate_limit("ping", RateLimit(2, 100)))])
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    @test_app.app.get("/free", dependencies=[Depends(auth.rate_limit("free", RateLimit(0, 100)))])
    async def free() -> dict[str, bool]:
        return {"ok": True}

    async with test_app.client() as client:
        statuses = [(await client.get("/ping")).status_code for _ in range(3)]
        last = await client.get("/ping")
        free_statuses = {(await client.get("/free")).status_code for _ in range(5)}
    assert statuses == [200, 200, 429]
    assert last.headers["Retry-After"]
    assert last.headers["X-RateLimit-Limit"] == "2"
    assert free_statuses == {200}


async def test_rate_limit_unknown_action_raises(make_app: Any) -> None:
    test_app = await make_app()
    with pytest.raises(ValueError, match="custom-action"):
        test_app.auth.rate_limit("custom-action")
