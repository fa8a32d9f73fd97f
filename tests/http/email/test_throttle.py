"""Per-IP limits (429) and silent per-target limits on the request endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from crudauth.ratelimit import RateLimit

ENDPOINTS = [
    ("/email/verify-request", "email_verify_request"),
    ("/password/reset-request", "password_reset_request"),
]


@pytest.mark.parametrize(("path", "action"), ENDPOINTS)
async def test_per_ip_limit_returns_429(recovery_app: Any, path: str, action: str) -> None:
    app = await recovery_app(rate_limits={action: RateLimit(2, 3600)})
    async with app.test_app.client() as client:
        responses = [
            await client.post(path, json={"email": f"user{index}@example.com"})
            for index in range(3)
        ]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[0].headers["X-RateLimit-Limit"] == "2"
    assert responses[0].headers["X-RateLimit-Remaining"] == "1"
    assert responses[2].headers["X-RateLimit-Remaining"] == "0"
    assert int(responses[2].headers["Retry-After"]) >= 1


async def test_change_request_per_ip_limit(recovery_app: Any) -> None:
    app = await recovery_app(rate_limits={"email_change_request": RateLimit(1, 3600)})
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await client.post("/login", data={"username": "alice", "password": "Correct-Horse-1"})
        headers = {"X-CSRF-Token": client.cookies.get("csrf_token") or ""}
        statuses = [
            (
                await client.post(
                    "/email/change-request",
                    json={"new_email": f"n{index}@example.com", "password": "Correct-Horse-1"},
                    headers=headers,
                )
            ).status_code
            for index in range(2)
        ]
    assert statuses == [200, 429]


@pytest.mark.parametrize(
    ("path", "action", "kind"),
    [
        ("/email/verify-request", "email_verify_request", "verify_email"),
        ("/password/reset-request", "password_reset_request", "reset_password"),
    ],
)
async def test_per_target_limit_is_silent(
    recovery_app: Any, path: str, action: str, kind: str
) -> None:
    app = await recovery_app(rate_limits={action: RateLimit(1, 3600)}, trusted_proxy_hops=1)
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        first = await client.post(
            path, json={"email": "alice@example.com"}, headers={"X-Forwarded-For": "203.0.113.1"}
        )
        # Another client address, so only the per-target budget applies.
        second = await client.post(
            path, json={"email": "ALICE@example.com"}, headers={"X-Forwarded-For": "203.0.113.2"}
        )
    assert first.status_code == 200
    assert second.status_code == 200
    assert first.json() == second.json()
    assert len(app.sender.of_kind(kind)) == 1


async def test_per_target_counts_unknown_addresses(recovery_app: Any) -> None:
    app = await recovery_app()
    limiter = app.auth.rate_limiter
    service = app.auth.emails
    for _ in range(5):
        await service.notify_existing_account("ghost@example.com")
    await service.notify_existing_account("ghost@example.com")
    assert len(app.sender.of_kind("existing_account")) == 5
    assert limiter is service.rate_limiter


async def test_change_target_limit_silent(recovery_app: Any) -> None:
    app = await recovery_app(rate_limits={"email_change_request": RateLimit(1, 3600)})
    user = await app.test_app.create_user()
    async with app.test_app.sessionmaker() as db:
        row = await app.auth.repo.get_by_id(db, user.id)
        await app.auth.emails.send_email_change(db, row, "new@example.com")
        await app.auth.emails.send_email_change(db, row, "NEW@example.com")
    assert len(app.sender.of_kind("change_email")) == 1


async def test_limiter_outage_sends_nothing(recovery_app: Any) -> None:
    """A failing per-target limiter stops the mail instead of sending it unthrottled."""
    app = await recovery_app()
    await app.test_app.create_user()

    class BrokenLimiter:
        async def increment_and_check(self, *args: Any, **kwargs: Any) -> Any:
            return 6, True, 3600

    app.auth.emails.rate_limiter = BrokenLimiter()
    async with app.test_app.sessionmaker() as db:
        await app.auth.emails.request_password_reset(db, "alice@example.com")
    assert app.sender.sent == []
