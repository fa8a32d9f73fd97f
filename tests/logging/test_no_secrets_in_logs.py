"""A full run of the account flows at DEBUG level logs no credential or token."""

from __future__ import annotations

import logging
from typing import Any

import pyotp
import pytest
from cryptography.fernet import Fernet

from crudauth import MfaConfig
from oauth_support import mfa_oidc_model
from security_support import full_kwargs
from support import csrf_headers, login


class Capture(logging.Handler):
    """Keeps every formatted record with its arguments, at any level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        self.lines.append(f"{text} {record.args!r} {record.__dict__!r}")


@pytest.fixture
def captured() -> Any:
    handler = Capture()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


async def test_flows_log_no_secrets(make_app: Any, captured: Capture) -> None:
    kwargs = full_kwargs()
    sender = kwargs["email"].sender
    mfa = MfaConfig(issuer="test", encryption_key=Fernet.generate_key())
    test_app = await make_app(mfa_oidc_model(), mfa=mfa, **kwargs)
    secrets: list[str] = ["Correct-Horse-1", "Fresh-Pass-88", "Reset-Pass-99", "Signup-Pass-7"]
    async with test_app.client() as client:
        body = {"email": "new@example.com", "username": "newbie", "password": "Signup-Pass-7"}
        assert (await client.post("/register", json=body)).status_code < 300
        await test_app.create_user(email_verified=True)
        await login(client)
        secrets += [client.cookies["session_id"], client.cookies["csrf_token"]]
        assert (await client.get("/me")).status_code == 200
        client.cookies.delete("csrf_token")
        refreshed = await client.post("/csrf/refresh")
        secrets.append(refreshed.json().get("csrf_token", ""))
        pair = (
            await client.post("/token", data={"username": "alice", "password": "Correct-Horse-1"})
        ).json()
        secrets += [pair["access_token"], pair["refresh_token"]]
        again = await client.post("/refresh", json={"refresh_token": pair["refresh_token"]})
        secrets.append(again.json()["access_token"])
        setup = await client.post(
            "/mfa/totp/setup", json={"password": "Correct-Horse-1"}, headers=csrf_headers(client)
        )
        secret = setup.json()["secret"]
        secrets.append(secret)
        confirmed = await client.post(
            "/mfa/totp/confirm",
            json={"code": pyotp.TOTP(secret).now()},
            headers=csrf_headers(client),
        )
        assert confirmed.status_code == 200, confirmed.text
        secrets += [code for code in confirmed.json().get("recovery_codes", [])]
        async with test_app.client() as other:
            await login(other)
            handle = next(
                row["id"] for row in (await client.get("/sessions")).json() if not row["current"]
            )
            await client.delete(f"/sessions/{handle}", headers=csrf_headers(client))
        changed = await client.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": "Fresh-Pass-88"},
            headers=csrf_headers(client),
        )
        assert changed.status_code == 200, changed.text
        await client.post("/logout-all", headers=csrf_headers(client))
        await client.post("/password/reset-request", json={"email": "alice@example.com"})
        [mail] = sender.of_kind("reset_password")
        secrets.append(mail.token)
        reset = await client.post(
            "/password/reset-confirm", json={"token": mail.token, "new_password": "Reset-Pass-99"}
        )
        assert reset.status_code == 200, reset.text
    secrets = [value for value in secrets if value]
    assert len(secrets) >= 14
    assert len(captured.lines) > 0
    log = "\n".join(captured.lines)
    for value in secrets:
        assert value not in log, f"a secret of length {len(value)} was logged"
