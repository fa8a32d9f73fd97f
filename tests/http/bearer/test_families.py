"""Token families: rotation, theft detection, the grace window and device lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from crudauth import AuthHooks, BearerTransport, SessionTransport
from support import csrf_headers, login

FORM = {"username": "alice", "password": "Correct-Horse-1"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_in(client: httpx.AsyncClient, user_agent: str = "script/1.0") -> dict[str, Any]:
    response = await client.post("/token", data=FORM, headers={"user-agent": user_agent})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/refresh", json={"refresh_token": token})


def families_of(test_app: Any) -> Any:
    transport = test_app.auth.transports[-1]
    assert isinstance(transport, BearerTransport)
    return transport.families


async def test_stolen_refresh_replay_ends_both_holders(make_app: Any) -> None:
    reused: list[Any] = []
    events: list[dict[str, Any]] = []

    async def on_reuse(user: Any, **kwargs: Any) -> None:
        reused.append((user["id"], kwargs["family_handle"]))

    async def on_event(user_id: Any, event: dict[str, Any], **kwargs: Any) -> None:
        events.append(event)

    test_app = await make_app(
        transports=[BearerTransport(refresh="body", refresh_grace_seconds=0)],
        hooks=AuthHooks(on_refresh_token_reuse=on_reuse, on_security_event=on_event),
    )
    user = await test_app.create_user()
    async with test_app.client() as client:
        victim = await sign_in(client)
        stolen = victim["refresh_token"]
        renewed = await refresh(client, stolen)
        assert renewed.status_code == 200, renewed.text
        victim_tokens = renewed.json()
        thief_attempt = await refresh(client, stolen)
        victim_access = await client.get(
            "/protected", headers=bearer(victim_tokens["access_token"])
        )
        victim_refresh = await refresh(client, victim_tokens["refresh_token"])
        first_access = await client.get("/protected", headers=bearer(victim["access_token"]))

    assert thief_attempt.status_code == 401, thief_attempt.text
    assert victim_access.status_code == 401, victim_access.text
    assert victim_refresh.status_code == 401, victim_refresh.text
    assert first_access.status_code == 401, first_access.text
    assert len(reused) == 1
    assert reused[0][0] == user.id
    reuse_events = [event for event in events if event["type"] == "refresh_token_reused"]
    assert len(reuse_events) == 1
    assert stolen not in str(events)


async def test_reuse_logs_one_security_line(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body", refresh_grace_seconds=0)])
    await test_app.create_user()
    async with test_app.client() as client:
        stolen = (await sign_in(client))["refresh_token"]
        assert (await refresh(client, stolen)).status_code == 200
        with caplog.at_level("WARNING", logger="crudauth.security"):
            assert (await refresh(client, stolen)).status_code == 401

    lines = [record for record in caplog.records if "refresh token reuse" in record.message]
    assert len(lines) == 1
    assert stolen not in lines[0].getMessage()


async def test_racing_refresh_within_grace_does_not_fork(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    await test_app.create_user()
    async with test_app.client() as client:
        token = (await sign_in(client))["refresh_token"]
        first = await refresh(client, token)
        second = await refresh(client, token)
        listed = await client.get("/protected", headers=bearer(second.json()["access_token"]))

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    # Both racers hold the same next refresh token: the family did not fork.
    assert first.json()["refresh_token"] == second.json()["refresh_token"]
    assert listed.status_code == 200, listed.text


async def test_rotated_token_after_grace_revokes(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    await test_app.create_user()
    async with test_app.client() as client:
        token = (await sign_in(client))["refresh_token"]
        assert (await refresh(client, token)).status_code == 200
        families = families_of(test_app)
        real_now = families._now
        families._now = lambda: real_now() + timedelta(seconds=6)
        late = await refresh(client, token)

    assert late.status_code == 401, late.text
    user_families = await families.live_for_user(1)
    assert user_families == []


async def test_family_record_stores_no_token(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    user = await test_app.create_user()
    async with test_app.client() as client:
        issued = await sign_in(client, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")

    [(key, record)] = await families_of(test_app).live_for_user(user.id)
    stored = key + record.model_dump_json()
    for token in (issued["access_token"], issued["refresh_token"]):
        for part in token.split("."):
            assert part not in stored
    assert record.device_info["browser"] == "Firefox"


async def test_stateless_mode_skips_families(make_app: Any) -> None:
    test_app = await make_app(
        transports=[SessionTransport(management_routes=True), BearerTransport(stateless=True)]
    )
    await test_app.create_user()
    async with test_app.client() as api, test_app.client() as browser:
        issued = (await api.post("/token", data=FORM)).json()
        await login(browser)
        listed = await browser.get("/sessions")
        ended = await browser.post("/logout-all", headers=csrf_headers(browser))
        access = await api.get("/protected", headers=bearer(issued["access_token"]))

    assert [row["kind"] for row in listed.json()] == ["session"]
    assert ended.status_code == 200, ended.text
    # Without families only the token_version bump can end stateless tokens.
    assert access.status_code == 401, access.text


async def test_sessions_list_both_kinds_and_delete_token(make_app: Any) -> None:
    test_app = await make_app(
        transports=[SessionTransport(management_routes=True), BearerTransport(refresh="body")]
    )
    await test_app.create_user()
    async with test_app.client() as browser, test_app.client() as api:
        await login(browser)
        issued = await sign_in(api)
        listed = (await browser.get("/sessions")).json()
        token_row = next(row for row in listed if row["kind"] == "token")
        unknown = await browser.delete("/sessions/not-a-handle", headers=csrf_headers(browser))
        ended = await browser.delete(f"/sessions/{token_row['id']}", headers=csrf_headers(browser))
        access = await api.get("/protected", headers=bearer(issued["access_token"]))
        renewed = await refresh(api, issued["refresh_token"])
        again = await browser.delete(f"/sessions/{token_row['id']}", headers=csrf_headers(browser))

    assert sorted(row["kind"] for row in listed) == ["session", "token"]
    assert all(row["expires_at"] for row in listed)
    assert ended.status_code == 200, ended.text
    assert access.status_code == 401, access.text
    assert renewed.status_code == 401, renewed.text
    assert unknown.status_code == 404
    assert again.json() == unknown.json()


async def test_other_user_cannot_delete_token_device(make_app: Any) -> None:
    test_app = await make_app(
        transports=[SessionTransport(management_routes=True), BearerTransport(refresh="body")]
    )
    await test_app.create_user()
    await test_app.create_user(username="bob", email="bob@example.com", password="Battery-Staple-2")
    async with test_app.client() as alice, test_app.client() as bob:
        issued = await sign_in(alice)
        await login(alice)
        rows = (await alice.get("/sessions")).json()
        [handle] = [row["id"] for row in rows if row["kind"] == "token"]
        await login(bob, "bob", "Battery-Staple-2")
        foreign = await bob.delete(f"/sessions/{handle}", headers=csrf_headers(bob))
        still = await alice.get("/protected", headers=bearer(issued["access_token"]))

    assert foreign.status_code == 404, foreign.text
    assert still.status_code == 200, still.text


async def test_logout_all_refuses_bearer_caller(make_app: Any) -> None:
    test_app = await make_app(
        transports=[SessionTransport(management_routes=True), BearerTransport(refresh="body")]
    )
    await test_app.create_user()
    async with test_app.client() as browser, test_app.client() as api:
        await login(browser)
        mine = await sign_in(api)
        other = await sign_in(api)
        response = await api.post(
            "/logout-all?keep_current=true", headers=bearer(mine["access_token"])
        )
        kept = await api.get("/protected", headers=bearer(mine["access_token"]))
        untouched = await api.get("/protected", headers=bearer(other["access_token"]))
        browser_me = await browser.get("/me")

    assert response.status_code == 401, response.text
    assert kept.status_code == 200, kept.text
    assert untouched.status_code == 200, untouched.text
    assert browser_me.status_code == 200, browser_me.text


async def test_me_reports_family_expiry(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body", refresh_ttl_days=2)])
    await test_app.create_user()
    async with test_app.client() as client:
        issued = await sign_in(client)
        me = await client.get("/me", headers=bearer(issued["access_token"]))

    assert me.status_code == 200, me.text
    [(_key, record)] = await families_of(test_app).live_for_user(1)
    assert me.json()["expires_at"].startswith(record.expires_at.isoformat()[:19])


async def test_one_store_read_per_bearer_request(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    await test_app.create_user()
    async with test_app.client() as client:
        issued = await sign_in(client)
        storage = families_of(test_app).storage
        calls: list[str] = []
        original_get = storage.get

        async def counting_get(key: str, model: Any) -> Any:
            calls.append(key)
            return await original_get(key, model)

        storage.get = counting_get
        response = await client.get("/protected", headers=bearer(issued["access_token"]))

    assert response.status_code == 200, response.text
    assert len(calls) == 1
