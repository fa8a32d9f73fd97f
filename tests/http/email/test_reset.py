"""Password reset: request, confirm, eviction of every credential, token invariants."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import crudauth.transports.bearer.tokens as jwt_tokens
from clock_support import START, FrozenClock
from crudauth import AuthHooks, BearerTransport, PasswordPolicy, SessionTransport
from crudauth.transports.bearer.tokens import create_signed_token
from support import csrf_headers, login, user_db_params

RESET_SENT = {"detail": "If an account exists, a password reset email has been sent."}
NEW_PASSWORD = "Brand-New-Pass-9"


async def request_reset(client: Any, email: str = "alice@example.com") -> Any:
    return await client.post("/password/reset-request", json={"email": email})


async def reset_token(app: Any) -> str:
    async with app.test_app.client() as client:
        response = await request_reset(client)
    assert response.status_code == 200, response.text
    mails = app.sender.of_kind("reset_password")
    assert mails, "no reset email was sent"
    return mails[-1].token


async def test_reset_round_trip(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    token = await reset_token(app)

    async with app.test_app.client() as client:
        confirmed = await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json() == {"detail": "Password reset successfully."}
        assert (await login(client)).status_code == 401
        assert (await login(client, password=NEW_PASSWORD)).status_code == 200


async def test_reset_mail_link_and_context(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    await reset_token(app)

    mail = app.sender.of_kind("reset_password")[0]
    assert mail.to == "alice@example.com"
    assert mail.subject == "Reset your password"
    assert mail.context.link is not None
    assert mail.context.link.startswith("https://app.example.com/reset-password?token=")
    assert mail.body == f"Reset your password: {mail.context.link}"
    assert mail.context.recipient == "alice@example.com"
    assert mail.context.expires_in == 3600


async def test_reset_unknown_address_sends_nothing(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        response = await request_reset(client, "nobody@example.com")

    assert response.status_code == 200
    assert response.json() == RESET_SENT
    assert app.sender.sent == []


async def test_reset_inactive_account_sends_nothing(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user(is_active=False)
    async with app.test_app.client() as client:
        response = await request_reset(client)

    assert response.json() == RESET_SENT
    assert app.sender.sent == []


async def test_reset_replay_rejected(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    token = await reset_token(app)

    async with app.test_app.client() as client:
        first = await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        second = await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": "Other-Pass-77"}
        )
    assert first.status_code == 200, first.text
    # The first reset changed the hash, so the state claim no longer matches either.
    assert second.status_code == 400
    assert second.json() == {"detail": "Invalid or expired token"}


async def test_reset_replay_with_same_state_is_used(recovery_app: Any) -> None:
    """A replay caught by the used-token store alone reports the token as used."""
    app = await recovery_app()
    user = await app.test_app.create_user()
    token = await reset_token(app)
    service = app.auth.emails

    claims = service.tokens.verify(token, "reset_password")
    assert claims is not None
    assert await service.tokens.consume(token, 1) is True
    async with app.test_app.client() as client:
        replay = await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
    assert replay.status_code == 400
    assert replay.json() == {"detail": "Token already used"}
    unchanged = await app.test_app.get_user(user.id)
    assert unchanged.hashed_password == user.hashed_password


@pytest.mark.parametrize("user_db", user_db_params(sqlite="sqlite-file"))
async def test_parallel_resets_one_wins(recovery_app: Any, user_db: str) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    token = await reset_token(app)

    async with app.test_app.client() as client:
        responses = await asyncio.gather(
            *[
                client.post(
                    "/password/reset-confirm",
                    json={"token": token, "new_password": f"Parallel-Pass-{index}0"},
                )
                for index in range(5)
            ]
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 400, 400, 400, 400], [r.text for r in responses]

    # A loser fails on the used-token store, or on the state claim once the winner's new
    # password hash is committed.
    rejections = {"Token already used", "Invalid or expired token"}
    losers = [r.json()["detail"] for r in responses if r.status_code == 400]
    assert all(detail in rejections for detail in losers), losers
    winner = next(i for i, response in enumerate(responses) if response.status_code == 200)
    async with app.test_app.client() as client:
        assert (await login(client, password=f"Parallel-Pass-{winner}0")).status_code == 200


async def test_parallel_consumes_one_wins(recovery_app: Any) -> None:
    """The used-token store itself lets exactly one of many concurrent claims through."""
    app = await recovery_app()
    await app.test_app.create_user()
    token = await reset_token(app)
    tokens = app.auth.emails.tokens

    results = await asyncio.gather(*[tokens.consume(token, 1) for _ in range(20)])

    assert results.count(True) == 1
    assert results.count(False) == 19


async def test_weak_password_keeps_token(recovery_app: Any) -> None:
    app = await recovery_app(password_policy=PasswordPolicy(min_length=12))
    await app.test_app.create_user()
    token = await reset_token(app)

    async with app.test_app.client() as client:
        weak = await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": "tiny7"}
        )
        assert weak.status_code == 422, weak.text
        assert weak.json()["detail"][0]["loc"] == ["body", "new_password"]
        assert "tiny7" not in weak.text

        retry = await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
    assert retry.status_code == 200, retry.text


async def test_reset_evicts_sessions_and_bearer(recovery_app: Any) -> None:
    app = await recovery_app(transports=[SessionTransport(), BearerTransport(refresh="body")])
    await app.test_app.create_user()

    async with app.test_app.client() as browser, app.test_app.client() as api:
        assert (await login(browser)).status_code == 200
        issued = await api.post("/token", data={"username": "alice", "password": "Correct-Horse-1"})
        assert issued.status_code == 200, issued.text
        access = issued.json()["access_token"]
        refresh = issued.json()["refresh_token"]
        bearer = {"Authorization": f"Bearer {access}"}
        assert (await browser.get("/me")).status_code == 200
        assert (await api.get("/me", headers=bearer)).status_code == 200

        token = await reset_token(app)
        confirmed = await api.post(
            "/password/reset-confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert confirmed.status_code == 200, confirmed.text

        assert (await browser.get("/me")).status_code == 401
        assert (await api.get("/me", headers=bearer)).status_code == 401
        refreshed = await api.post("/refresh", json={"refresh_token": refresh})
        assert refreshed.status_code == 401
    user_id = (await app.test_app.get_user(1)).id
    assert await app.auth.sessions.storage.get_user_sessions(user_id) == []


async def test_reset_token_dies_on_password_change(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    token = await reset_token(app)

    async with app.test_app.client() as client:
        assert (await login(client)).status_code == 200
        changed = await client.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": "Changed-Pass-55"},
            headers=csrf_headers(client),
        )
        assert changed.status_code == 200, changed.text
        stale = await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
    assert stale.status_code == 400
    assert stale.json() == {"detail": "Invalid or expired token"}


async def test_reset_token_dies_on_email_change(recovery_app: Any) -> None:
    app = await recovery_app()
    user = await app.test_app.create_user()
    token = await reset_token(app)
    async with app.test_app.sessionmaker() as db:
        row = await app.auth.repo.get_by_id(db, user.id)
        await app.auth.repo.update(db, row, {"email": "alice.new@example.com"})

    async with app.test_app.client() as client:
        stale = await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
    assert stale.status_code == 400
    assert stale.json() == {"detail": "Invalid or expired token"}


async def test_reset_rejects_other_purpose(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await client.post("/email/verify-request", json={"email": "alice@example.com"})
        verify_token = app.sender.of_kind("verify_email")[0].token
        wrong = await client.post(
            "/password/reset-confirm", json={"token": verify_token, "new_password": NEW_PASSWORD}
        )
    assert wrong.status_code == 400
    assert wrong.json() == {"detail": "Invalid or expired token"}


async def test_reset_rejects_tampered_token(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    await app.test_app.create_user(email="bob@example.com", username="bob")
    token = await reset_token(app)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")

    async with app.test_app.client() as client:
        for forged in [f"{header}.{payload}.{flipped}", token + "x", "garbage", "a" * 5000]:
            response = await client.post(
                "/password/reset-confirm", json={"token": forged, "new_password": NEW_PASSWORD}
            )
            assert response.status_code == 400, forged[:40]
            assert response.json() == {"detail": "Invalid or expired token"}


async def test_reset_rejects_token_without_state(recovery_app: Any) -> None:
    app = await recovery_app()
    user = await app.test_app.create_user()
    secret = app.auth.runtime.secret_key
    bare = create_signed_token(secret, user.id, "reset_password", expires_hours=1)

    async with app.test_app.client() as client:
        response = await client.post(
            "/password/reset-confirm", json={"token": bare, "new_password": NEW_PASSWORD}
        )
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid or expired token"}


@pytest.mark.parametrize(("offset", "status"), [(3599, 200), (3600, 400), (3601, 400)])
async def test_reset_token_expiry_boundary(
    recovery_app: Any, monkeypatch: pytest.MonkeyPatch, offset: int, status: int
) -> None:
    """Valid one second before max-age; expired at max-age and at max-age + 1 s."""
    app = await recovery_app()
    await app.test_app.create_user()
    clock = FrozenClock(START)
    monkeypatch.setattr(jwt_tokens, "time", clock)
    token = await reset_token(app)

    clock.now += offset
    async with app.test_app.client() as client:
        response = await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
    assert response.status_code == status, response.text


async def test_reset_fires_hook_once(recovery_app: Any) -> None:
    calls: list[dict[str, Any]] = []

    async def on_reset(user: dict[str, Any], *, db: Any, context: Any) -> None:
        calls.append({"user": user, "context": context})

    app = await recovery_app(hooks=AuthHooks(on_after_password_reset=on_reset))
    await app.test_app.create_user()
    token = await reset_token(app)
    async with app.test_app.client() as client:
        await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )

    assert len(calls) == 1
    assert calls[0]["user"]["email"] == "alice@example.com"
    assert calls[0]["context"].request is None


async def test_reset_survives_raising_hook(recovery_app: Any) -> None:
    def broken(user: dict[str, Any], *, db: Any, context: Any) -> None:
        raise RuntimeError("hook failed")

    app = await recovery_app(hooks=AuthHooks(on_after_password_reset=broken))
    await app.test_app.create_user()
    token = await reset_token(app)
    async with app.test_app.client() as client:
        response = await client.post(
            "/password/reset-confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert response.status_code == 200, response.text
        assert (await login(client, password=NEW_PASSWORD)).status_code == 200


async def test_reset_redirect_carried(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await client.post(
            "/password/reset-request",
            json={"email": "alice@example.com", "redirect_to": "/welcome?step=2"},
        )
        await client.post(
            "/password/reset-request",
            json={"email": "alice@example.com", "redirect_to": "https://evil.example/"},
        )
        safe, unsafe = app.sender.of_kind("reset_password")
        assert "welcome" not in safe.context.link
        first = await client.post(
            "/password/reset-confirm", json={"token": safe.token, "new_password": NEW_PASSWORD}
        )
        assert first.json() == {
            "detail": "Password reset successfully.",
            "redirect_to": "/welcome?step=2",
        }
    # The first reset changed the password, which voids the second link.
    async with app.test_app.client() as client:
        second = await client.post(
            "/password/reset-confirm",
            json={"token": unsafe.token, "new_password": "Another-Pass-88"},
        )
    assert second.status_code == 400


async def test_unsafe_redirect_dropped(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await client.post(
            "/password/reset-request",
            json={"email": "alice@example.com", "redirect_to": "//evil.example/"},
        )
        mail = app.sender.of_kind("reset_password")[0]
        confirmed = await client.post(
            "/password/reset-confirm", json={"token": mail.token, "new_password": NEW_PASSWORD}
        )
    assert confirmed.json() == {"detail": "Password reset successfully."}


async def test_reset_request_validates_body(recovery_app: Any) -> None:
    app = await recovery_app()
    async with app.test_app.client() as client:
        missing = await client.post("/password/reset-request", json={})
        invalid = await client.post("/password/reset-request", json={"email": "not-an-address"})
        wrong_field = await client.post("/password/reset-request", json={"phone": "+15550100"})
    assert missing.status_code == 422
    assert invalid.status_code == 422
    assert wrong_field.status_code == 422
    assert app.sender.sent == []
