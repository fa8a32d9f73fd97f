"""The per-user security log, ``GET /security-events`` and the new-device hook."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from crudauth import AuthHooks, BearerTransport, SessionTransport
from crudauth.security_log import SecurityLogConfig
from support import csrf_headers, login

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


async def login_from(client: Any, user_agent: str) -> Any:
    form = {"username": "alice", "password": "Correct-Horse-1"}
    return await client.post("/login", data=form, headers={"user-agent": user_agent})


def transports() -> list[Any]:
    return [SessionTransport(management_routes=True), BearerTransport(refresh="body")]


async def test_events_record_sign_ins_and_endings(make_app: Any) -> None:
    test_app = await make_app(transports=transports())
    user = await test_app.create_user()
    async with test_app.client() as first, test_app.client() as second:
        await login_from(first, FIREFOX)
        assert (await login(second, password="wrong-password")).status_code == 401
        await login(second)
        ended = await first.post("/logout-all", headers=csrf_headers(first))
        assert ended.status_code == 200, ended.text

    events = await test_app.auth.security_events(user.id, limit=50)
    types = [event.type for event in events]
    assert "sign_in_failed" in types
    assert types.count("sign_in") == 2
    ended_events = [event for event in events if event.type == "session_ended"]
    # One event for the whole sign-out, listing both sessions.
    assert [event.detail["reason"] for event in ended_events] == ["user_revoked_all"]
    assert ended_events[0].detail["count"] == 2
    assert len(ended_events[0].detail["handles"]) == 2
    signed_in = next(event for event in reversed(events) if event.type == "sign_in")
    assert signed_in.device["browser"] == "Firefox"


async def test_events_route_pages_and_hides_secrets(make_app: Any) -> None:
    test_app = await make_app(transports=transports())
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        token = (
            await client.post("/token", data={"username": "alice", "password": "Correct-Horse-1"})
        ).json()
        page = await client.get("/security-events?limit=1")
        rest = await client.get("/security-events?offset=1&limit=200")
        too_big = await client.get("/security-events?limit=100000")
        anonymous = await test_app.client().get("/security-events")

    assert page.status_code == 200, page.text
    body = page.json()
    assert len(body["events"]) == 1
    assert body["total"] == len(rest.json()["events"]) + 1
    assert too_big.status_code == 422
    assert anonymous.status_code == 401
    text = page.text + rest.text
    for secret in (
        client.cookies["session_id"],
        token["access_token"],
        token["refresh_token"],
        "Correct-Horse-1",
    ):
        assert secret not in text


async def test_new_device_hook_fires_once_per_device(make_app: Any) -> None:
    seen: list[tuple[str, str | None]] = []

    async def on_new_device(user: Any, *, device: Any, ip_address: Any, **kwargs: Any) -> None:
        seen.append((device["browser"], ip_address))

    test_app = await make_app(
        transports=transports(), hooks=AuthHooks(on_new_device_sign_in=on_new_device)
    )
    await test_app.create_user()
    async with test_app.client() as client:
        for user_agent in (FIREFOX, FIREFOX, CHROME_MAC):
            response = await login_from(client, user_agent)
            assert response.status_code == 200, response.text

    assert [browser for browser, _ip in seen] == ["Firefox", "Chrome"]


async def test_events_capped_per_user(make_app: Any) -> None:
    test_app = await make_app(
        transports=transports(),
        security_log=SecurityLogConfig(max_events_per_user=3),
    )
    user = await test_app.create_user()
    async with test_app.client() as client:
        for _ in range(4):
            await login(client)

    events = await test_app.auth.security_events(user.id)
    assert len(events) == 3


def test_config_rejects_window_past_retention() -> None:
    with pytest.raises(ValueError, match="new_device_window_days"):
        SecurityLogConfig(retention_days=7, new_device_window_days=30)


def move_log_clock(test_app: Any, monkeypatch: Any, days: float) -> None:
    """Make the security log read its clock ``days`` from now."""
    log = test_app.auth.runtime.security_log
    later = datetime.now(timezone.utc) + timedelta(days=days)
    monkeypatch.setattr(log, "_now", lambda: later)


async def test_device_new_again_after_window(make_app: Any, monkeypatch: Any) -> None:
    seen: list[str] = []

    async def on_new_device(user: Any, *, device: Any, **kwargs: Any) -> None:
        seen.append(device["browser"])

    test_app = await make_app(
        transports=transports(),
        hooks=AuthHooks(on_new_device_sign_in=on_new_device),
        security_log=SecurityLogConfig(retention_days=60, new_device_window_days=30),
    )
    await test_app.create_user()
    async with test_app.client() as client:
        assert (await login_from(client, FIREFOX)).status_code == 200
        move_log_clock(test_app, monkeypatch, days=29)
        assert (await login_from(client, FIREFOX)).status_code == 200
        assert seen == ["Firefox"]
        # 31 days after the second sign-in, the device is unseen within the window.
        move_log_clock(test_app, monkeypatch, days=29 + 31)
        assert (await login_from(client, FIREFOX)).status_code == 200

    assert seen == ["Firefox", "Firefox"]


async def test_events_past_retention_hidden(make_app: Any, monkeypatch: Any) -> None:
    test_app = await make_app(
        transports=transports(),
        security_log=SecurityLogConfig(retention_days=30, new_device_window_days=30),
    )
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
    assert len(await test_app.auth.security_events(user.id)) >= 1

    move_log_clock(test_app, monkeypatch, days=31)
    assert await test_app.auth.security_events(user.id) == []


async def test_append_never_reads_the_log(make_app: Any, monkeypatch: Any) -> None:
    test_app = await make_app(transports=transports())
    user = await test_app.create_user()
    log = test_app.auth.runtime.security_log
    async with test_app.client() as client:
        for _ in range(5):
            await login(client)

    reads: list[str] = []
    original_get = log.storage.get

    async def recording_get(session_id: str, model_class: Any) -> Any:
        reads.append(session_id)
        return await original_get(session_id, model_class)

    monkeypatch.setattr(log.storage, "get", recording_get)
    await log.record(user.id, "password_changed")

    # An append costs the same with 5 events or 200, because nothing is read first.
    assert reads == []
    assert (await test_app.auth.security_events(user.id))[0].type == "password_changed"
