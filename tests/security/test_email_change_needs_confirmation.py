"""An email change counts only once the new address confirms it, and voids reset links."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from support import csrf_headers, login

NEW_ADDRESS = "alice.new@example.com"
CHANGE_REQUESTED = {"detail": "If the address is available, a confirmation email has been sent."}


async def request_change(client: Any, new_email: str, password: str = "Correct-Horse-1") -> Any:
    return await client.post(
        "/email/change-request",
        json={"new_email": new_email, "password": password},
        headers=csrf_headers(client),
    )


async def rows_with_email(test_app: Any, email: str) -> int:
    model = test_app.model
    query = select(func.count()).select_from(model).where(model.email == email)
    async with test_app.sessionmaker() as db:
        return int((await db.execute(query)).scalar_one())


async def test_new_address_counts_only_after_confirmation(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    sender = test_app.extras["sender"]
    async with test_app.client() as alice:
        await login(alice)
        requested = await request_change(alice, "Alice.New@Example.COM")
        assert requested.status_code == 200, requested.text
        assert requested.json() == CHANGE_REQUESTED
        assert [(mail.to, mail.kind) for mail in sender.sent] == [(NEW_ADDRESS, "change_email")]
        token = sender.sent[0].token

        assert (await alice.get("/me")).json()["email"] == "alice@example.com"
        async with test_app.client() as other:
            early = await login(other, NEW_ADDRESS, "Correct-Horse-1")
            assert early.status_code == 401, early.text

        confirmed = await alice.post("/email/change-confirm", json={"token": token})
        assert confirmed.status_code == 200, confirmed.text
        again = await alice.post("/email/change-confirm", json={"token": token})
        assert again.status_code == 400, again.text

    async with test_app.sessionmaker() as db:
        user = await test_app.auth.repo.get_by_field(db, "username", "alice")
    assert user.email == NEW_ADDRESS
    assert user.email_verified is True
    notices = sender.of_kind("email_changed")
    assert [mail.to for mail in notices] == ["alice@example.com"]


async def test_address_taken_before_confirmation_is_422(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    sender = test_app.extras["sender"]
    async with test_app.client() as alice:
        await login(alice)
        assert (await request_change(alice, NEW_ADDRESS)).status_code == 200
        [mail] = sender.of_kind("change_email")
        async with test_app.client() as someone:
            body = {"email": NEW_ADDRESS, "username": "someone_else", "password": "Other-Pw-123"}
            registered = await someone.post("/register", json=body)
            assert registered.status_code in (200, 201, 202), registered.text
        confirmed = await alice.post("/email/change-confirm", json={"token": mail.token})
    assert confirmed.status_code == 422, confirmed.text
    assert confirmed.json() == {"detail": "Email already in use"}
    assert await rows_with_email(test_app, NEW_ADDRESS) == 1
    assert await rows_with_email(test_app, "alice@example.com") == 1


async def test_change_request_needs_password_and_csrf(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    sender = test_app.extras["sender"]
    async with test_app.client() as alice:
        await login(alice)
        wrong = await request_change(alice, NEW_ADDRESS, password="wrong-guess")
        assert wrong.status_code == 400, wrong.text
        assert wrong.json() == {"detail": "Incorrect password"}
        no_csrf = await alice.post(
            "/email/change-request",
            json={"new_email": NEW_ADDRESS, "password": "Correct-Horse-1"},
        )
        assert no_csrf.status_code == 403, no_csrf.text
    assert sender.sent == []


async def test_email_change_voids_earlier_reset_link(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    sender = test_app.extras["sender"]
    async with test_app.client() as anonymous:
        await anonymous.post("/password/reset-request", json={"email": "alice@example.com"})
    [reset_mail] = sender.of_kind("reset_password")

    async with test_app.client() as alice:
        await login(alice)
        assert (await request_change(alice, NEW_ADDRESS)).status_code == 200
        [change_mail] = sender.of_kind("change_email")
        confirmed = await alice.post("/email/change-confirm", json={"token": change_mail.token})
        assert confirmed.status_code == 200, confirmed.text

    async with test_app.client() as attacker:
        takeover = await attacker.post(
            "/password/reset-confirm",
            json={"token": reset_mail.token, "new_password": "Takeover-Pw-5"},
        )
        assert takeover.status_code == 400, takeover.text
        assert takeover.json() == {"detail": "Invalid or expired token"}
        assert (await login(attacker, NEW_ADDRESS, "Correct-Horse-1")).status_code == 200
        assert (await login(attacker, NEW_ADDRESS, "Takeover-Pw-5")).status_code == 401
