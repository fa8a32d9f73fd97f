"""The revocation table: what each security event does to each kind of credential.

Every cell is one test. A test builds a user with every kind of credential alive
(the caller's browser session with a sudo elevation, a second browser session, a token
family with its access token, and a pending password-reset link), runs one event and
probes one kind. The table below is the contract; the docs page "Revocation" shows the
same table. Each test runs on the memory store and, when ``CRUDAUTH_TEST_REDIS_URL`` is
set, on Redis.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import Depends, Request
from pydantic import BaseModel

from crudauth import BearerTransport, EmailConfig, Principal, SessionTransport, SudoConfig
from crudauth.cli.users import set_active
from crudauth.oauth.schemas import OAuthUserInfo
from crudauth.security_log import SecurityLogConfig
from mfa_support import FrozenClock, enrol, mfa_config, mfa_model
from recovery_support import FRONTEND, REDIS_URL, RecordingSender
from support import csrf_headers, login

PASSWORD = "Correct-Horse-1"
NEW_PASSWORD = "Brand-New-Pass-9"

KEPT = "kept"
REVOKED = "revoked"

KINDS = (
    "current_session",
    "other_sessions",
    "access_tokens",
    "refresh_families",
    "pending",
    "sudo",
)

# event -> the fate of each credential kind, in the order of KINDS.
TABLE: dict[str, tuple[str, ...]] = {
    "password_change": (KEPT, REVOKED, REVOKED, REVOKED, REVOKED, KEPT),
    "password_reset": (REVOKED, REVOKED, REVOKED, REVOKED, REVOKED, REVOKED),
    "email_change": (KEPT, KEPT, KEPT, KEPT, REVOKED, KEPT),
    "mfa_disabled": (KEPT, KEPT, KEPT, KEPT, KEPT, KEPT),
    "recovery_code_used": (KEPT, KEPT, KEPT, KEPT, KEPT, KEPT),
    "oauth_claim": (REVOKED, REVOKED, REVOKED, REVOKED, REVOKED, REVOKED),
    "deactivated_cli": (REVOKED, REVOKED, REVOKED, REVOKED, REVOKED, REVOKED),
    "deactivated_repository": (REVOKED, REVOKED, REVOKED, REVOKED, REVOKED, REVOKED),
    "superuser_removed": (KEPT, KEPT, KEPT, KEPT, KEPT, KEPT),
    "logout": (REVOKED, KEPT, KEPT, KEPT, KEPT, REVOKED),
    "logout_all": (REVOKED, REVOKED, REVOKED, REVOKED, KEPT, REVOKED),
}

CELLS = [
    pytest.param(event, kind, fate, id=f"{event}-{kind}")
    for event, fates in TABLE.items()
    for kind, fate in zip(KINDS, fates, strict=True)
]


def store_params() -> list[Any]:
    return [
        "memory",
        pytest.param(
            "redis", marks=pytest.mark.skipif(REDIS_URL is None, reason="Redis not started")
        ),
    ]


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest) -> str:
    """The backend of families, one-time tokens and the log: ``memory`` or ``redis``."""
    return str(request.param)


class SudoIn(BaseModel):
    password: str


async def build_world(make_app: Any, store: str) -> SimpleNamespace:
    """Build the app and a user holding one credential of every kind."""
    sender = RecordingSender()
    kwargs: dict[str, Any] = {}
    if store == "redis":
        kwargs = {"redis_url": REDIS_URL, "rate_limit_prefix": f"test-{uuid.uuid4().hex}:"}
    clock = FrozenClock()
    # Per-user indexes on a shared Redis must not see another test's user 1.
    namespace = uuid.uuid4().hex
    bearer = BearerTransport(refresh="body", family_storage_prefix=f"{namespace}:family:")
    test_app = await make_app(
        model=mfa_model(),
        transports=[SessionTransport(management_routes=True), bearer],
        security_log=SecurityLogConfig(storage_prefix=f"{namespace}:log:"),
        email=EmailConfig(sender=sender, frontend_url=FRONTEND),
        sudo=SudoConfig(),
        mfa=mfa_config(),
        **kwargs,
    )
    auth = test_app.auth
    auth.mfa.clock = clock

    @test_app.app.post("/sudo")
    async def sudo(
        body: SudoIn, request: Request, me: Principal = Depends(auth.current_user())
    ) -> dict[str, str]:
        until = await auth.sudo.elevate(me, body.password, request=request)
        return {"elevated_until": until.isoformat()}

    @test_app.app.get("/sensitive")
    async def sensitive(me: Principal = Depends(auth.require_sudo())) -> dict[str, Any]:
        return {"user_id": me.user_id}

    user = await test_app.create_user(is_superuser=True)
    current, other, anonymous = test_app.client(), test_app.client(), test_app.client()
    for client in (current, other):
        assert (await login(client)).status_code == 200
    elevated = await current.post(
        "/sudo", json={"password": PASSWORD}, headers=csrf_headers(current)
    )
    assert elevated.status_code == 200, elevated.text
    issued = await anonymous.post("/token", data={"username": "alice", "password": PASSWORD})
    assert issued.status_code == 200, issued.text
    requested = await anonymous.post("/password/reset-request", json={"email": user.email})
    assert requested.status_code == 200, requested.text
    return SimpleNamespace(
        test_app=test_app,
        auth=auth,
        user=user,
        sender=sender,
        clock=clock,
        current=current,
        other=other,
        anonymous=anonymous,
        tokens=issued.json(),
        reset_token=sender.of_kind("reset_password")[-1].token,
    )


async def close_world(world: SimpleNamespace) -> None:
    for client in (world.current, world.other, world.anonymous):
        await client.aclose()


# -- events ------------------------------------------------------------------------


async def password_change(world: SimpleNamespace) -> None:
    response = await world.current.post(
        "/change-password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=csrf_headers(world.current),
    )
    assert response.status_code == 200, response.text


async def password_reset(world: SimpleNamespace) -> None:
    # A second link is the one redeemed, so the first stays the pending probe.
    await world.anonymous.post("/password/reset-request", json={"email": world.user.email})
    token = world.sender.of_kind("reset_password")[-1].token
    response = await world.anonymous.post(
        "/password/reset-confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 200, response.text


async def email_change(world: SimpleNamespace) -> None:
    async with world.test_app.sessionmaker() as db:
        user = await world.auth.repo.get_by_id(db, world.user.id)
        await world.auth.repo.update(db, user, {"email": "alice.new@example.com"})


async def mfa_disabled(world: SimpleNamespace) -> None:
    await enrol(world.test_app, world.user.id, world.clock)
    async with world.test_app.sessionmaker() as db:
        user = await world.auth.repo.get_by_id(db, world.user.id)
        await world.auth.mfa.disable(db, user)


async def recovery_code_used(world: SimpleNamespace) -> None:
    _secret, codes = await enrol(world.test_app, world.user.id, world.clock)
    async with world.test_app.sessionmaker() as db:
        user = await world.auth.repo.get_by_id(db, world.user.id)
        assert await world.auth.mfa.use_recovery_code(db, user, codes[0])


async def oauth_claim(world: SimpleNamespace) -> None:
    # A verified provider profile with the address of an unverified password account:
    # the sign-in claims the account for the address owner.
    info = OAuthUserInfo(
        provider="google", provider_user_id="g-1", email=world.user.email, email_verified=True
    )
    async with world.test_app.sessionmaker() as db:
        user, created = await oauth_service(world.auth).get_or_create_user(info, db)
    assert created is False
    assert user.id == world.user.id


async def deactivated_cli(world: SimpleNamespace) -> None:
    lines: list[Any] = []
    ctx = SimpleNamespace(
        auth=world.auth,
        args=SimpleNamespace(user=str(world.user.id)),
        out=SimpleNamespace(result=lambda *parts: lines.append(parts)),
    )
    assert await set_active(ctx, False) == 0


async def deactivated_repository(world: SimpleNamespace) -> None:
    async with world.test_app.sessionmaker() as db:
        user = await world.auth.repo.get_by_id(db, world.user.id)
        await world.auth.repo.update(db, user, {"is_active": False})


async def superuser_removed(world: SimpleNamespace) -> None:
    async with world.test_app.sessionmaker() as db:
        user = await world.auth.repo.get_by_id(db, world.user.id)
        await world.auth.repo.update(db, user, {"is_superuser": False})


async def logout(world: SimpleNamespace) -> None:
    response = await world.current.post("/logout", headers=csrf_headers(world.current))
    assert response.status_code == 200, response.text


async def logout_all(world: SimpleNamespace) -> None:
    response = await world.current.post("/logout-all", headers=csrf_headers(world.current))
    assert response.status_code == 200, response.text


EVENTS = {
    "password_change": password_change,
    "password_reset": password_reset,
    "email_change": email_change,
    "mfa_disabled": mfa_disabled,
    "recovery_code_used": recovery_code_used,
    "oauth_claim": oauth_claim,
    "deactivated_cli": deactivated_cli,
    "deactivated_repository": deactivated_repository,
    "superuser_removed": superuser_removed,
    "logout": logout,
    "logout_all": logout_all,
}


# -- probes: each returns whether the credential still works -------------------------


async def probe_current_session(world: SimpleNamespace) -> bool:
    return (await world.current.get("/me")).status_code == 200


async def probe_other_sessions(world: SimpleNamespace) -> bool:
    return (await world.other.get("/me")).status_code == 200


async def probe_access_tokens(world: SimpleNamespace) -> bool:
    headers = {"Authorization": f"Bearer {world.tokens['access_token']}"}
    async with world.test_app.client() as client:
        return (await client.get("/protected", headers=headers)).status_code == 200


async def probe_refresh_families(world: SimpleNamespace) -> bool:
    body = {"refresh_token": world.tokens["refresh_token"]}
    async with world.test_app.client() as client:
        response = await client.post("/refresh", json=body)
    if response.status_code != 200:
        return False
    # Rotation replaced the token: the next probe presents the new one.
    world.tokens["refresh_token"] = response.json()["refresh_token"]
    return True


async def probe_pending(world: SimpleNamespace) -> bool:
    body = {"token": world.reset_token, "new_password": "Third-Pass-word-3"}
    async with world.test_app.client() as client:
        return (await client.post("/password/reset-confirm", json=body)).status_code == 200


async def probe_sudo(world: SimpleNamespace) -> bool:
    return (await world.current.get("/sensitive")).status_code == 200


PROBES = {
    "current_session": probe_current_session,
    "other_sessions": probe_other_sessions,
    "access_tokens": probe_access_tokens,
    "refresh_families": probe_refresh_families,
    "pending": probe_pending,
    "sudo": probe_sudo,
}


@pytest.mark.parametrize(("event", "kind", "fate"), CELLS)
async def test_revocation_cell(make_app: Any, store: str, event: str, kind: str, fate: str) -> None:
    world = await build_world(make_app, store)
    try:
        # Redeeming the reset link would change the password, so it is probed only
        # after the event; the cells where it is kept show that a live link works.
        if kind != "pending":
            assert await PROBES[kind](world), f"{kind} did not work before {event}"
        await EVENTS[event](world)
        works = await PROBES[kind](world)
    finally:
        await close_world(world)
    assert works is (fate == KEPT), f"{event}: {kind} should be {fate}"


async def test_superuser_gate_closes_at_once(make_app: Any, store: str) -> None:
    world = await build_world(make_app, store)

    @world.test_app.app.get("/admin")
    async def admin(me: Principal = Depends(world.auth.current_user(superuser=True))) -> dict:
        return {"user_id": me.user_id}

    try:
        before = await world.current.get("/admin")
        await superuser_removed(world)
        after = await world.current.get("/admin")
    finally:
        await close_world(world)
    assert before.status_code == 200, before.text
    assert after.status_code == 403, after.text


def oauth_service(auth: Any) -> Any:
    """Return an account service wired like the facade's, without an OAuth provider."""
    from crudauth.oauth.service import OAuthAccountService

    service = OAuthAccountService(auth.repo, session_manager=auth.session_manager)
    service.runtime = auth.runtime
    return service
