"""The email-password and phone-recovery recipes, driven over HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

ADA = {"email": "ada@example.com", "username": "ada", "password": "Correct-Horse-1"}
ACCEPTED = {"detail": "If the email is available, check your inbox to finish signing up."}


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/login", data={"username": username, "password": password})


async def test_email_password_signup_and_verify(example_client: Any) -> None:
    async with example_client("email_password") as (module, client):
        fresh = await client.post("/register", json=ADA)
        taken = await client.post("/register", json={**ADA, "username": "ada2"})
        assert fresh.status_code == 202, fresh.text
        assert taken.status_code == 202, taken.text
        assert fresh.json() == taken.json() == ACCEPTED

        messages = module.sender.messages
        verify = [m for m in messages if m["subject"] == "Verify your email"]
        assert len(verify) == 1
        link = verify[0]["link"]
        assert link.startswith("https://app.example.com/verify-email?token=")
        assert verify[0]["body"] == f"Verify your email: {link}"

        assert (await sign_in(client, "ada@example.com", ADA["password"])).status_code == 200
        assert (await client.get("/notes")).status_code == 200
        assert (await client.get("/billing")).status_code == 403
        confirmed = await client.post("/email/verify-confirm", json={"token": token_of(link)})
        assert confirmed.status_code == 200, confirmed.text
        assert (await client.get("/billing")).status_code == 200


async def test_email_password_reset(example_client: Any) -> None:
    async with example_client("email_password") as (module, client):
        await client.post("/register", json=ADA)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=module.app), base_url="https://testserver"
        ) as other_device:
            assert (await sign_in(other_device, "ada", ADA["password"])).status_code == 200

            unknown = await client.post("/password/reset-request", json={"email": "x@example.com"})
            known = await client.post("/password/reset-request", json={"email": ADA["email"]})
            assert unknown.status_code == known.status_code == 200
            assert unknown.json() == known.json()

            resets = [m for m in module.sender.messages if m["subject"] == "Reset your password"]
            assert len(resets) == 1
            reset = await client.post(
                "/password/reset-confirm",
                json={"token": token_of(resets[0]["link"]), "new_password": "Brand-New-Pass-9"},
            )
            assert reset.status_code == 200, reset.text

            assert (await other_device.get("/notes")).status_code == 401
        assert (await sign_in(client, "ada", ADA["password"])).status_code == 401
        assert (await sign_in(client, "ada", "Brand-New-Pass-9")).status_code == 200


PHONE = "+15550100123"


async def test_phone_recovery_verify_and_reset(example_client: Any) -> None:
    async with example_client("phone_recovery") as (module, client):
        registered = await client.post(
            "/register",
            json={"username": "ann", "phone": PHONE, "password": "Correct-Horse-1"},
        )
        assert registered.status_code == 202, registered.text
        texts = module.sms.messages
        assert [(t["to"], t["kind"]) for t in texts] == [(PHONE, "verify_recovery")]
        assert texts[0]["link"].startswith("https://app.example.com/verify-phone?token=")

        assert (await sign_in(client, "ann", "Correct-Horse-1")).status_code == 200
        assert (await client.get("/wallet")).status_code == 403
        confirmed = await client.post(
            "/email/verify-confirm", json={"token": token_of(texts[0]["link"])}
        )
        assert confirmed.status_code == 200, confirmed.text
        assert (await client.get("/wallet")).status_code == 200

        wrong_field = await client.post("/password/reset-request", json={"email": "a@b.co"})
        assert wrong_field.status_code == 422
        requested = await client.post("/password/reset-request", json={"phone": PHONE})
        assert requested.json() == {
            "detail": "If an account exists, a password reset message has been sent."
        }
        reset_link = texts[-1]["link"]
        assert texts[-1]["kind"] == "reset_password"
        reset = await client.post(
            "/password/reset-confirm",
            json={"token": token_of(reset_link), "new_password": "Brand-New-Pass-9"},
        )
        assert reset.status_code == 200, reset.text
        assert (await client.get("/wallet")).status_code == 401
        assert (await sign_in(client, "ann", "Brand-New-Pass-9")).status_code == 200

        change = await client.post("/email/change-request", json={"new_email": "a@b.co"})
        assert change.status_code == 404
