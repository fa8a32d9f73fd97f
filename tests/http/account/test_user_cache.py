"""The user-row cache: rows served from memory, and every place it must not decide.

A cached row may lag behind the database by up to the cache lifetime. These tests
change rows with plain SQL, unseen by crudauth, as another worker or the app's own code
would. A lagging row must never reject a request that the database allows, and must
never accept a password that the database no longer contains.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import Depends

from crudauth import BearerTransport, Principal, SessionTransport, SudoConfig, Transport
from crudauth.user_cache import UserCacheConfig
from crudauth.utils.hashing import get_password_hash
from support import ALICE, csrf_headers, login

NEW_PASSWORD = "Another-Horse-2"


async def cached_app(make_app: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("transports", [SessionTransport(), BearerTransport(refresh="body")])
    test_app = await make_app(user_cache=UserCacheConfig(ttl=60), **kwargs)
    auth = test_app.auth

    @test_app.app.get("/admin")
    async def admin(principal: Principal = Depends(auth.current_user(superuser=True))) -> Any:
        return {"user_id": principal.user_id}

    @test_app.app.post("/rename")
    async def rename(
        principal: Principal = Depends(auth.current_user()),
        db: Any = Depends(auth.session),
    ) -> Any:
        principal.user.full_name = "Alice Liddell"
        await db.commit()
        return {"ok": True}

    return test_app


async def update_row(test_app: Any, user_id: Any, **values: Any) -> None:
    """Change the user's row with plain SQL, unseen by crudauth."""
    model = test_app.model
    async with test_app.sessionmaker() as db:
        await db.execute(sa.update(model).where(model.id == user_id).values(**values))
        await db.commit()


async def test_cached_request_sends_no_query(make_app: Any) -> None:
    test_app = await cached_app(make_app)
    user = await test_app.create_user()
    statements: list[str] = []
    engine = test_app.engine.sync_engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    async with test_app.client() as client:
        assert (await login(client)).status_code == 200
        assert (await client.get("/me")).status_code == 200
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            response = await client.get("/me")
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    assert response.json()["user_id"] == user.id
    assert statements == []


async def test_cached_row_commits_changes(make_app: Any) -> None:
    test_app = await cached_app(make_app)
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        await client.get("/me")
        response = await client.post("/rename", headers=csrf_headers(client))
    assert response.status_code == 200
    stored = await test_app.get_user(user.id)
    assert stored.full_name == "Alice Liddell"


async def test_crudauth_write_applies_at_once(make_app: Any) -> None:
    test_app = await cached_app(make_app)
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        await client.get("/me")
        changed = await client.post(
            "/change-password",
            json={"current_password": ALICE["password"], "new_password": NEW_PASSWORD},
            headers=csrf_headers(client),
        )
        assert changed.status_code == 200, changed.text
        # The bearer login reads the row fresh; the session reads it through the cache.
        stale = await client.post(
            "/change-password",
            json={"current_password": ALICE["password"], "new_password": "Third-Horse-3"},
            headers=csrf_headers(client),
        )
    assert stale.status_code == 401


async def test_lagging_epoch_rechecked(make_app: Any) -> None:
    test_app = await cached_app(make_app)
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        assert (await client.get("/me")).status_code == 200
        # Another worker changed the password and rebound this session to the new epoch.
        await update_row(test_app, user.id, token_version=user.token_version + 1)
        session_id = client.cookies.get("session_id")
        manager = test_app.auth.session_manager
        await manager.set_token_version(session_id, user.token_version + 1)
        response = await client.get("/me")
    assert response.status_code == 200, response.text


async def test_gate_sees_granted_flag(make_app: Any) -> None:
    test_app = await cached_app(make_app)
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        assert (await client.get("/admin")).status_code == 403
        await update_row(test_app, user.id, is_superuser=True)
        response = await client.get("/admin")
    assert response.status_code == 200, response.text
    # The reloaded row replaces the stale one, so later requests need no reload.
    cached = test_app.auth.repo.row_cache._entries[str(user.id)]
    assert cached.values["is_superuser"] is True


async def test_password_change_reads_database_row(make_app: Any) -> None:
    test_app = await cached_app(make_app)
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        await client.get("/me")
        # Another worker changed the password; this process still caches the old hash.
        await update_row(test_app, user.id, hashed_password=get_password_hash(NEW_PASSWORD))
        response = await client.post(
            "/change-password",
            json={"current_password": NEW_PASSWORD, "new_password": "Third-Horse-3"},
            headers=csrf_headers(client),
        )
    assert response.status_code == 200, response.text


async def test_sudo_reads_database_row(make_app: Any) -> None:
    test_app = await cached_app(make_app, sudo=SudoConfig())
    auth = test_app.auth

    @test_app.app.post("/sudo")
    async def sudo(me: Principal = Depends(auth.current_user())) -> dict[str, str]:
        until = await auth.sudo.elevate(me, ALICE["password"])
        return {"elevated_until": until.isoformat()}

    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        await client.get("/me")
        # The password changed elsewhere: the old one must not open sudo mode here.
        await update_row(test_app, user.id, hashed_password=get_password_hash(NEW_PASSWORD))
        response = await client.post("/sudo", headers=csrf_headers(client))
    assert response.status_code == 401


async def test_row_expires_after_lifetime(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    test_app = await cached_app(make_app)
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        await client.get("/me")
        await update_row(test_app, user.id, is_active=False)
        import crudauth.user_cache as user_cache

        now = user_cache.time.monotonic()
        monkeypatch.setattr(user_cache.time, "monotonic", lambda: now + 61)
        response = await client.get("/me")
    assert response.status_code == 401


async def test_reading_route_opens_no_session(make_app: Any) -> None:
    test_app = await cached_app(make_app)
    await test_app.create_user()
    opened: list[str] = []

    async def counted_db() -> Any:
        opened.append("session")
        async with test_app.sessionmaker() as db:
            yield db

    # The override also shows that the reading route honours dependency overrides.
    test_app.app.dependency_overrides[test_app.auth.session] = counted_db
    async with test_app.client() as client:
        await login(client)
        opened.clear()
        first = await client.get("/me")
        after_miss = len(opened)
        second = await client.get("/me")
    assert first.status_code == 200
    assert second.status_code == 200
    assert after_miss == 1
    assert len(opened) == 1


async def test_reading_route_names_override_with_parameters(make_app: Any) -> None:
    test_app = await cached_app(make_app)
    user = await test_app.create_user()

    def settings() -> str:
        return "test"

    async def configured_db(name: str = Depends(settings)) -> Any:
        async with test_app.sessionmaker() as db:
            yield db

    test_app.app.dependency_overrides[test_app.auth.session] = configured_db
    async with test_app.client() as client:
        await login(client)
        test_app.auth.forget_cached_user(user.id)
        # A clear message rather than a TypeError from calling it without arguments.
        with pytest.raises(RuntimeError, match="declares parameters"):
            await client.get("/me")


async def test_custom_transport_gets_a_session(make_app: Any) -> None:
    class HeaderTransport(Transport):
        name = "header"

        async def authenticate(self, request: Any, ctx: Any) -> Any:
            user_id = request.headers.get("X-User")
            if user_id is None:
                return None
            # A transport that does not defer the database finds ctx.db open.
            user = await ctx.db.get(ctx.repo.model, int(user_id))
            return ctx.build_principal(user_id=user.id, user=user, transport=self.name)

    test_app = await cached_app(make_app, transports=[HeaderTransport()])
    user = await test_app.create_user()
    async with test_app.client() as client:
        response = await client.get("/me", headers={"X-User": str(user.id)})
    assert response.status_code == 200, response.text
    assert response.json()["via"] == "header"


async def test_forget_cached_user_reloads_row(make_app: Any) -> None:
    test_app = await cached_app(make_app)
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        assert (await client.get("/me")).status_code == 200
        await update_row(test_app, user.id, is_active=False)
        test_app.auth.forget_cached_user(user.id)
        response = await client.get("/me")
    assert response.status_code == 401


async def test_reading_and_current_user_together(make_app: Any) -> None:
    test_app = await cached_app(make_app)
    auth = test_app.auth

    @test_app.app.get("/together")
    async def together(
        first: Principal = Depends(auth.reading_user()),
        second: Principal = Depends(auth.reading_user()),
        third: Principal = Depends(auth.current_user()),
    ) -> Any:
        return [first.user_id, second.user_id, third.user_id]

    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        # A miss first, then a hit: both must resolve every dependency.
        test_app.auth.forget_cached_user(user.id)
        missed = await client.get("/together")
        hit = await client.get("/together")
    assert missed.status_code == 200, missed.text
    assert missed.json() == [user.id] * 3
    assert hit.json() == [user.id] * 3
