"""Verification of the recovery address: request, confirm, the gate and the hook."""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from crudauth import AuthHooks, Principal

VERIFY_SENT = {"detail": "If an account exists, a verification email has been sent."}


def add_verified_route(app: Any) -> None:
    gate = app.auth.current_user(verified=True)

    @app.test_app.app.get("/verified-only")
    async def verified_only(principal: Principal = Depends(gate)) -> dict[str, Any]:
        return {"user_id": principal.user_id}


async def test_verify_round_trip_opens_gate(recovery_app: Any) -> None:
    app = await recovery_app()
    add_verified_route(app)
    await app.test_app.create_user()

    async with app.test_app.client() as client:
        assert (
            await client.post("/login", data={"username": "alice", "password": "Correct-Horse-1"})
        ).status_code == 200
        assert (await client.get("/verified-only")).status_code == 403

        requested = await client.post("/email/verify-request", json={"email": "alice@example.com"})
        assert requested.status_code == 200, requested.text
        assert requested.json() == VERIFY_SENT
        mail = app.sender.of_kind("verify_email")[0]
        assert mail.body == f"Verify your email: {mail.context.link}"
        assert mail.context.link == f"https://app.example.com/verify-email?token={mail.token}"
        assert mail.context.expires_in == 86400

        confirmed = await client.post("/email/verify-confirm", json={"token": mail.token})
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json() == {"detail": "Verified successfully."}
        assert (await client.get("/verified-only")).status_code == 200


async def test_verify_replay_rejected(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await client.post("/email/verify-request", json={"email": "alice@example.com"})
        token = app.sender.of_kind("verify_email")[0].token
        first = await client.post("/email/verify-confirm", json={"token": token})
        second = await client.post("/email/verify-confirm", json={"token": token})
    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json() == {"detail": "Token already used"}


async def test_verified_account_gets_no_mail(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user(email_verified=True)
    async with app.test_app.client() as client:
        response = await client.post("/email/verify-request", json={"email": "alice@example.com"})
    assert response.json() == VERIFY_SENT
    assert app.sender.sent == []


async def test_verify_lookup_is_canonical(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await client.post("/email/verify-request", json={"email": "  Alice@EXAMPLE.com "})
    assert [mail.to for mail in app.sender.sent] == ["alice@example.com"]


async def test_verify_hook_fires_once(recovery_app: Any) -> None:
    calls: list[dict[str, Any]] = []

    def on_verified(user: dict[str, Any], *, db: Any, context: Any) -> None:
        calls.append(user)

    app = await recovery_app(hooks=AuthHooks(on_after_recovery_verified=on_verified))
    user = await app.test_app.create_user()
    service = app.auth.emails
    async with app.test_app.sessionmaker() as db:
        await service.request_recovery_verification(db, "alice@example.com")
        await service.request_recovery_verification(db, "alice@example.com")
    first, second = app.sender.of_kind("verify_email")

    async with app.test_app.client() as client:
        assert (
            await client.post("/email/verify-confirm", json={"token": first.token})
        ).status_code == 200
        # Already verified: the second link still redeems, but the hook stays quiet.
        assert (
            await client.post("/email/verify-confirm", json={"token": second.token})
        ).status_code == 200

    assert len(calls) == 1
    assert calls[0]["email_verified"] is True
    assert (await app.test_app.get_user(user.id)).email_verified is True


async def test_verify_token_dies_on_email_change(recovery_app: Any) -> None:
    app = await recovery_app()
    user = await app.test_app.create_user()
    async with app.test_app.client() as client:
        await client.post("/email/verify-request", json={"email": "alice@example.com"})
    token = app.sender.of_kind("verify_email")[0].token
    async with app.test_app.sessionmaker() as db:
        row = await app.auth.repo.get_by_id(db, user.id)
        await app.auth.repo.update(db, row, {"email": "other@example.com"})

    async with app.test_app.client() as client:
        response = await client.post("/email/verify-confirm", json={"token": token})
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid or expired token"}
    assert (await app.test_app.get_user(user.id)).email_verified is False


async def test_verify_rejects_reset_token(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await client.post("/password/reset-request", json={"email": "alice@example.com"})
        reset_token = app.sender.of_kind("reset_password")[0].token
        response = await client.post("/email/verify-confirm", json={"token": reset_token})
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid or expired token"}


async def test_verify_rejects_inactive_account(recovery_app: Any) -> None:
    app = await recovery_app()
    user = await app.test_app.create_user()
    async with app.test_app.client() as client:
        await client.post("/email/verify-request", json={"email": "alice@example.com"})
    token = app.sender.of_kind("verify_email")[0].token
    async with app.test_app.sessionmaker() as db:
        row = await app.auth.repo.get_by_id(db, user.id)
        await app.auth.repo.update(db, row, {"is_active": False})

    async with app.test_app.client() as client:
        response = await client.post("/email/verify-confirm", json={"token": token})
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid or expired token"}


async def test_service_returns_flow_result(recovery_app: Any) -> None:
    app = await recovery_app()
    user = await app.test_app.create_user()
    async with app.test_app.sessionmaker() as db:
        await app.auth.emails.request_recovery_verification(
            db, "alice@example.com", redirect_to="/home"
        )
        token = app.sender.of_kind("verify_email")[0].token
        verified_user, redirect_to = await app.auth.emails.confirm_recovery_verification(db, token)
    assert verified_user.id == user.id
    assert redirect_to == "/home"
