"""Email change: the owner's checks, the round trip, the notice and the invariants."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import AuthHooks, make_auth_identity
from support import csrf_headers, login

CHANGE_SENT = {"detail": "If the address is available, a confirmation email has been sent."}
NEW = "alice.new@example.com"


async def change_request(client: Any, **body: Any) -> Any:
    payload = {"new_email": NEW, "password": "Correct-Horse-1", **body}
    return await client.post("/email/change-request", json=payload, headers=csrf_headers(client))


async def test_change_round_trip(recovery_app: Any) -> None:
    calls: list[dict[str, Any]] = []
    app = await recovery_app(
        hooks=AuthHooks(on_after_email_changed=lambda user, *, db, context: calls.append(user))
    )
    user = await app.test_app.create_user(full_name="Alice A", role="admin")

    async with app.test_app.client() as client:
        assert (await login(client)).status_code == 200
        requested = await change_request(client)
        assert requested.status_code == 200, requested.text
        assert requested.json() == CHANGE_SENT

        mail = app.sender.of_kind("change_email")[0]
        assert mail.to == NEW
        assert mail.subject == "Confirm your new email"
        assert (
            mail.context.link == f"https://app.example.com/confirm-email-change?token={mail.token}"
        )

        confirmed = await client.post("/email/change-confirm", json={"token": mail.token})
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json() == {"detail": "Email changed successfully."}
        me = await client.get("/me")
        assert me.json()["email"] == NEW

    stored = await app.test_app.get_user(user.id)
    assert stored.email == NEW
    assert stored.email_verified is True
    # The account keeps its other state.
    assert stored.username == "alice"
    assert stored.full_name == "Alice A"
    assert stored.role == "admin"
    assert stored.hashed_password == user.hashed_password
    assert stored.token_version == user.token_version

    notices = app.sender.of_kind("email_changed")
    assert [notice.to for notice in notices] == ["alice@example.com"]
    assert notices[0].context.link is None
    assert notices[0].context.expires_in == 0
    assert len(calls) == 1
    assert calls[0]["email"] == NEW


async def test_change_requires_sign_in(recovery_app: Any) -> None:
    app = await recovery_app()
    async with app.test_app.client() as client:
        response = await client.post(
            "/email/change-request", json={"new_email": NEW, "password": "x"}
        )
    assert response.status_code == 401


async def test_change_requires_csrf(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await login(client)
        response = await client.post(
            "/email/change-request", json={"new_email": NEW, "password": "Correct-Horse-1"}
        )
    assert response.status_code == 403
    assert app.sender.sent == []


async def test_change_owner_errors(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await login(client)
        wrong = await change_request(client, password="Wrong-Password-1")
        same = await change_request(client, new_email="ALICE@example.com")
    assert wrong.status_code == 400
    assert wrong.json() == {"detail": "Incorrect password"}
    assert same.status_code == 400
    assert same.json() == {"detail": "New email matches current email"}
    assert app.sender.sent == []


async def test_change_to_overlong_address(recovery_app: Any) -> None:
    class Base(DeclarativeBase):
        pass

    class ShortEmailUser(Base, make_auth_identity()):
        __tablename__ = "users"
        email: Mapped[str] = mapped_column(String(24), unique=True, nullable=False)

    app = await recovery_app(model=ShortEmailUser)
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await login(client)
        response = await change_request(client, new_email="a-longer-name@example.com")
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail[0]["type"] == "string_too_long"
    assert detail[0]["loc"] == ["body", "new_email"]
    assert detail[0]["ctx"] == {"max_length": 24}
    assert app.sender.sent == []


async def test_change_to_taken_address_silent(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    await app.test_app.create_user(email=NEW, username="bob")
    async with app.test_app.client() as client:
        await login(client)
        response = await change_request(client)
    assert response.status_code == 200
    assert response.json() == CHANGE_SENT
    assert app.sender.sent == []


async def test_change_confirm_taken_keeps_token(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await login(client)
        await change_request(client)
    token = app.sender.of_kind("change_email")[0].token
    squatter = await app.test_app.create_user(email=NEW, username="bob")

    async with app.test_app.client() as client:
        taken = await client.post("/email/change-confirm", json={"token": token})
        assert taken.status_code == 422
        assert taken.json() == {"detail": "Email already in use"}

        async with app.test_app.sessionmaker() as db:
            row = await app.auth.repo.get_by_id(db, squatter.id)
            await db.delete(row)
            await db.commit()
        retried = await client.post("/email/change-confirm", json={"token": token})
        assert retried.status_code == 200, retried.text
        replay = await client.post("/email/change-confirm", json={"token": token})
    assert replay.status_code == 400


async def test_change_replay_rejected(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await login(client)
        await change_request(client)
        token = app.sender.of_kind("change_email")[0].token
        first = await client.post("/email/change-confirm", json={"token": token})
        second = await client.post("/email/change-confirm", json={"token": token})
    assert first.status_code == 200
    # The email changed, so the state claim of the replayed token no longer matches.
    assert second.status_code == 400


async def test_change_token_dies_on_password_change(recovery_app: Any) -> None:
    app = await recovery_app()
    await app.test_app.create_user()
    async with app.test_app.client() as client:
        await login(client)
        await change_request(client)
        token = app.sender.of_kind("change_email")[0].token
        changed = await client.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": "Changed-Pass-55"},
            headers=csrf_headers(client),
        )
        assert changed.status_code == 200
        stale = await client.post("/email/change-confirm", json={"token": token})
    assert stale.status_code == 400
    assert stale.json() == {"detail": "Invalid or expired token"}


async def test_change_token_missing_claim(recovery_app: Any) -> None:
    app = await recovery_app()
    user = await app.test_app.create_user()
    service = app.auth.emails
    token = service._mint(user, "change_email", 1)
    async with app.test_app.client() as client:
        response = await client.post("/email/change-confirm", json={"token": token})
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid token"}


async def test_change_verifies_unverified_account(recovery_app: Any) -> None:
    app = await recovery_app()
    user = await app.test_app.create_user(email_verified=False)
    async with app.test_app.client() as client:
        await login(client)
        await change_request(client)
        token = app.sender.of_kind("change_email")[0].token
        await client.post("/email/change-confirm", json={"token": token})
    assert (await app.test_app.get_user(user.id)).email_verified is True
