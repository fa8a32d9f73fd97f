"""Rotating SECRET_KEY mid-session keeps sessions, bearer tokens and resets working.

Two ``CRUDAuth`` instances share one database and one set of stores: the first signs
with the old key, the second with the new key and the old one listed in
``previous_secret_keys``, as after a deploy that rotates the key.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from crudauth import CRUDAuth, EmailConfig, Principal, get_password_hash
from crudauth.storage import MemorySessionStorage
from crudauth.transports.bearer import BearerTransport
from crudauth.transports.session import SessionTransport
from crudauth.transports.session.schemas import SessionData
from recovery_support import FRONTEND, RecordingSender
from support import csrf_headers, default_model, login

REDIS_URL = os.environ.get("CRUDAUTH_TEST_REDIS_URL")
OLD_KEY = "old-secret-key-that-is-long-enough-0123456789"
NEW_KEY = "new-secret-key-that-is-long-enough-9876543210"


@dataclass
class Deployment:
    """One app generation: its facade and an HTTPS client factory."""

    auth: CRUDAuth
    app: FastAPI

    def client(self, cookies: httpx.Cookies | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="https://testserver",
            cookies=cookies,
        )


@pytest.fixture(
    params=[
        "memory",
        pytest.param(
            "redis", marks=pytest.mark.skipif(REDIS_URL is None, reason="Redis not started")
        ),
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def deploy(backend: str) -> AsyncIterator[Callable[..., Any]]:
    """Return ``deploy(secret, previous=()) -> Deployment`` over shared state."""
    model = default_model()
    engine = create_async_engine(
        "sqlite+aiosqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    async with engine.begin() as connection:
        await connection.run_sync(model.metadata.create_all)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)

    async def get_db() -> AsyncIterator[AsyncSession]:
        async with sessionmaker() as session:
            yield session

    prefix = f"rotation-{uuid.uuid4().hex}:"
    sender = RecordingSender()
    shared: dict[str, Any] = {}
    if backend == "memory":
        shared["sessions"] = MemorySessionStorage(prefix=prefix + "s:")
        shared["csrf"] = MemorySessionStorage(prefix=prefix + "c:")
    auths: list[CRUDAuth] = []

    async def build(secret: str, previous: tuple[str, ...] = ()) -> Deployment:
        if backend == "memory":
            session_transport = SessionTransport(
                storage=shared["sessions"], csrf_storage=shared["csrf"], management_routes=True
            )
            stores: dict[str, Any] = {}
        else:
            session_transport = SessionTransport(
                storage_prefix=prefix + "s:", management_routes=True
            )
            stores = {"redis_url": REDIS_URL}
        auth = CRUDAuth(
            session=get_db,
            user_model=model,
            SECRET_KEY=secret,
            previous_secret_keys=previous,
            transports=[session_transport, BearerTransport(refresh="body")],
            email=EmailConfig(sender=sender, frontend_url=FRONTEND),
            warn_on_memory_backend=False,
            **stores,
        )
        auths.append(auth)
        await auth.initialize()
        if backend == "memory" and "tokens" in shared:
            # Share the one-time-token store too, as Redis does between deployments.
            auth.emails.token_store = shared["tokens"]  # type: ignore[union-attr]
        elif backend == "memory":
            shared["tokens"] = auth.emails.token_store  # type: ignore[union-attr]
        families = auth._bearer_transport.families  # type: ignore[union-attr]
        if backend == "memory" and "families" in shared:
            # Share the token-family store, as Redis does between deployments.
            families.storage = shared["families"]  # type: ignore[union-attr]
        elif backend == "memory":
            shared["families"] = families.storage  # type: ignore[union-attr]
        app = FastAPI()
        app.include_router(auth.router)

        @app.post("/protected")
        async def protected(principal: Principal = Depends(auth.current_user())) -> dict[str, Any]:
            return {"user_id": principal.user_id, "via": principal.transport}

        return Deployment(auth=auth, app=app)

    async with sessionmaker() as db:
        await insert_alice(model, db)
    build.sender = sender  # type: ignore[attr-defined]
    yield build
    for auth in auths:
        await auth.shutdown()
    await engine.dispose()


async def insert_alice(model: type[Any], db: AsyncSession) -> None:
    db.add(
        model(
            username="alice",
            email="alice@example.com",
            hashed_password=get_password_hash("Correct-Horse-1"),
        )
    )
    await db.commit()


async def test_session_survives_rotation(deploy: Callable[..., Any]) -> None:
    before = await deploy(OLD_KEY)
    async with before.client() as client:
        response = await login(client)
        assert response.status_code == 200, response.text
        cookies = client.cookies
        headers = csrf_headers(client)

    after = await deploy(NEW_KEY, (OLD_KEY,))
    async with after.client(cookies=cookies) as client:
        response = await client.post("/protected", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["via"] == "session"
        again = await client.post("/protected", headers=headers)
        assert again.status_code == 200, again.text

    session_id = cookies.get("session_id")
    assert session_id is not None
    manager = after.auth.sessions
    new_key = manager.keys.session_key(session_id)
    old_key = manager.keys.previous_session_keys(session_id)[0]
    assert await manager.storage.get(new_key, SessionData) is not None
    assert await manager.storage.get(old_key, SessionData) is None
    record = await manager.storage.get(new_key, SessionData)
    assert record is not None
    csrf_key = record.metadata["csrf_token_id"]
    assert csrf_key == manager.keys.csrf_key(headers["X-CSRF-Token"])


async def test_migrated_session_listed_once(deploy: Callable[..., Any]) -> None:
    before = await deploy(OLD_KEY)
    async with before.client() as client:
        assert (await login(client)).status_code == 200
        cookies = client.cookies

    after = await deploy(NEW_KEY, (OLD_KEY,))
    async with after.client(cookies=cookies) as client:
        response = await client.get("/sessions")
    assert response.status_code == 200, response.text
    browser_rows = [row for row in response.json() if row.get("kind", "session") == "session"]
    assert len(browser_rows) == 1
    assert browser_rows[0]["current"] is True


async def test_session_gone_without_previous_key(deploy: Callable[..., Any]) -> None:
    before = await deploy(OLD_KEY)
    async with before.client() as client:
        assert (await login(client)).status_code == 200
        cookies = client.cookies
        headers = csrf_headers(client)

    after = await deploy(NEW_KEY)
    async with after.client(cookies=cookies) as client:
        response = await client.post("/protected", headers=headers)
    assert response.status_code == 401, response.text


async def test_logout_after_rotation_ends_session(deploy: Callable[..., Any]) -> None:
    before = await deploy(OLD_KEY)
    async with before.client() as client:
        assert (await login(client)).status_code == 200
        cookies = client.cookies
        headers = csrf_headers(client)

    after = await deploy(NEW_KEY, (OLD_KEY,))
    async with after.client(cookies=cookies) as client:
        response = await client.post("/logout", headers=headers)
        assert response.status_code in (200, 204), response.text
    async with after.client(cookies=cookies) as client:
        response = await client.post("/protected", headers=headers)
    assert response.status_code == 401, response.text


async def test_bearer_token_survives_rotation(deploy: Callable[..., Any]) -> None:
    before = await deploy(OLD_KEY)
    async with before.client() as client:
        response = await client.post(
            "/token", data={"username": "alice", "password": "Correct-Horse-1"}
        )
        assert response.status_code == 200, response.text
        access = response.json()["access_token"]

    after = await deploy(NEW_KEY, (OLD_KEY,))
    async with after.client() as client:
        response = await client.post("/protected", headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 200, response.text
    assert response.json()["via"] == "bearer"

    stranger = await deploy(NEW_KEY)
    async with stranger.client() as client:
        response = await client.post("/protected", headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 401, response.text


async def test_dropped_key_ends_verified_token(deploy: Callable[..., Any]) -> None:
    before = await deploy(OLD_KEY)
    async with before.client() as client:
        response = await client.post(
            "/token", data={"username": "alice", "password": "Correct-Horse-1"}
        )
        access = response.json()["access_token"]

    after = await deploy(NEW_KEY, (OLD_KEY,))
    headers = {"Authorization": f"Bearer {access}"}
    async with after.client() as client:
        accepted = await client.post("/protected", headers=headers)
        # The old key is retired while the app runs: its remembered tokens go with it.
        after.auth.runtime.previous_secret_keys = ()
        rejected = await client.post("/protected", headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert rejected.status_code == 401, rejected.text


async def test_refresh_family_survives_rotation(deploy: Callable[..., Any]) -> None:
    before = await deploy(OLD_KEY)
    async with before.client() as client:
        issued = await client.post(
            "/token", data={"username": "alice", "password": "Correct-Horse-1"}
        )
        assert issued.status_code == 200, issued.text
        refresh_token = issued.json()["refresh_token"]

    after = await deploy(NEW_KEY, (OLD_KEY,))
    async with after.client() as client:
        refreshed = await client.post("/refresh", json={"refresh_token": refresh_token})
        assert refreshed.status_code == 200, refreshed.text
        body = refreshed.json()
        access = {"Authorization": f"Bearer {body['access_token']}"}
        protected = await client.post("/protected", headers=access)
        again = await client.post("/refresh", json={"refresh_token": body["refresh_token"]})
    assert protected.status_code == 200, protected.text
    assert again.status_code == 200, again.text
    assert body["refresh_token"] != refresh_token


async def test_pending_reset_survives_rotation(deploy: Callable[..., Any]) -> None:
    before = await deploy(OLD_KEY)
    async with before.client() as client:
        response = await client.post("/password/reset-request", json={"email": "alice@example.com"})
        assert response.status_code in (200, 202), response.text
    mails = deploy.sender.of_kind("reset_password")  # type: ignore[attr-defined]
    assert len(mails) == 1
    token = mails[0].token

    after = await deploy(NEW_KEY, (OLD_KEY,))
    async with after.client() as client:
        response = await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": "Fresh-Pass-7788"}
        )
        assert response.status_code == 200, response.text
        replay = await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": "Other-Pass-8899"}
        )
        assert replay.status_code == 400, replay.text
        signed_in = await login(client, password="Fresh-Pass-7788")
    assert signed_in.status_code == 200, signed_in.text
