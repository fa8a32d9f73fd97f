"""Request endpoints look the same for every address, and do their work afterwards."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

REQUESTS = [
    ("/email/verify-request", "verify_email"),
    ("/password/reset-request", "reset_password"),
]


def comparable(response: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = sorted(
        (name, value)
        for name, value in response.headers.items()
        if not name.lower().startswith("x-ratelimit")
    )
    return response.status_code, response.content, headers


@pytest.mark.parametrize(("path", "kind"), REQUESTS)
async def test_known_and_unknown_identical(recovery_app: Any, path: str, kind: str) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    await app.test_app.create_user(email="off@example.com", username="off", is_active=False)

    async with app.test_app.client() as client:
        known = await client.post(path, json={"email": "alice@example.com"})
        unknown = await client.post(path, json={"email": "nobody@example.com"})
        inactive = await client.post(path, json={"email": "off@example.com"})

    assert comparable(known) == comparable(unknown)
    assert comparable(known) == comparable(inactive)
    assert known.cookies == unknown.cookies
    assert [mail.to for mail in app.sender.of_kind(kind)] == ["alice@example.com"]


@pytest.mark.parametrize(("path", "kind"), REQUESTS)
async def test_raising_sender_changes_nothing(recovery_app: Any, path: str, kind: str) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    app.sender.error = ConnectionError("smtp down for alice@example.com")

    async with app.test_app.client() as client:
        known = await client.post(path, json={"email": "alice@example.com"})
        unknown = await client.post(path, json={"email": "nobody@example.com"})
    assert known.status_code == 200
    assert comparable(known) == comparable(unknown)


class EventLog:
    """ASGI wrapper that records when the response finished, next to other events."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.events: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def recording_send(message: dict[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.events.append("response sent")

        await self.app(scope, receive, recording_send)


@pytest.mark.parametrize(("path", "kind"), REQUESTS)
async def test_request_path_does_same_work(
    recovery_app: Any, monkeypatch: pytest.MonkeyPatch, path: str, kind: str
) -> None:
    """Nothing looks the account up or sends mail before the response is out.

    So the work done before answering cannot differ between a known and an unknown
    address, and a slow mailer cannot delay the answer.
    """
    app = await recovery_app()
    await app.test_app.create_user()
    log = EventLog(app.test_app.app)
    repo = app.auth.repo
    original_lookup = repo.get_by_field

    async def recording_lookup(db: Any, field: str, value: Any) -> Any:
        log.events.append(f"lookup {field}")
        return await original_lookup(db, field, value)

    original_send = app.sender.send

    async def recording_send(**kwargs: Any) -> None:
        log.events.append("mail sent")
        await original_send(**kwargs)

    monkeypatch.setattr(repo, "get_by_field", recording_lookup)
    monkeypatch.setattr(app.sender, "send", recording_send)

    transport = httpx.ASGITransport(app=log)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        await client.post(path, json={"email": "alice@example.com"})
        known_events = list(log.events)
        log.events.clear()
        await client.post(path, json={"email": "nobody@example.com"})
        unknown_events = list(log.events)

    assert known_events == ["response sent", "lookup email", "mail sent"]
    assert unknown_events == ["response sent", "lookup email"]


async def test_logs_never_carry_token_or_address(
    recovery_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    app.sender.error = ConnectionError("mailbox alice@example.com refused")
    caplog.set_level("DEBUG", logger="crudauth")
    async with app.test_app.client() as client:
        await client.post("/password/reset-request", json={"email": "alice@example.com"})
    app.sender.error = None
    async with app.test_app.client() as client:
        await client.post("/password/reset-request", json={"email": "alice@example.com"})
        token = app.sender.of_kind("reset_password")[0].token
        await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": "Brand-New-Pass-9"}
        )
        await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": "Brand-New-Pass-9"}
        )

    assert "Delivery of reset_password through EmailChannel failed" in caplog.text
    assert "alice@example.com" not in caplog.text
    assert token not in caplog.text
    assert "Brand-New-Pass-9" not in caplog.text
