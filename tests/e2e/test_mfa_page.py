"""Enrol an authenticator on the demo's account page, then sign in with a code."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pyotp
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_enrol_then_sign_in_with_a_code(demo_server: Any, browser: Any) -> None:
    base_url = demo_server()
    httpx.post(
        f"{base_url}/register",
        json={"email": "ada@example.com", "username": "ada", "password": "a-long-password"},
    ).raise_for_status()
    page = browser.new_page()
    page.goto(f"{base_url}/")
    page.fill("#login input[name=username]", "ada")
    page.fill("#login input[name=password]", "a-long-password")
    page.click("#login button[type=submit]")
    page.wait_for_function("document.getElementById('me').textContent.includes('ada')")

    page.goto(f"{base_url}/account")
    page.wait_for_selector("#mfa-start", state="visible")
    assert page.locator("#mfa-status").inner_text() == "Off."
    page.fill("#mfa-start input[name=password]", "a-long-password")
    page.click("#mfa-start button[type=submit]")
    page.wait_for_selector("#mfa-setup", state="visible")
    page.wait_for_selector("#mfa-qr", state="visible")
    assert page.locator("#mfa-qr").get_attribute("src").startswith("data:image/svg+xml")
    secret = page.locator("#mfa-secret").inner_text()
    assert len(secret) == 32
    totp = pyotp.TOTP(secret)

    # Confirm with the previous step's code (inside the drift window), so the sign-in
    # below can use the current step at once: each step is accepted only once.
    page.fill("#mfa-confirm input[name=code]", totp.at(time.time() - 30))
    page.click("#mfa-confirm button[type=submit]")
    page.wait_for_selector("#mfa-codes", state="visible")
    codes = page.locator("#recovery-codes").inner_text().split()
    assert len(codes) == 10
    page.wait_for_function("document.getElementById('mfa-status').textContent.startsWith('On')")

    page.goto(f"{base_url}/")
    page.click("#logout")
    page.wait_for_function("document.getElementById('me').textContent.includes('Not signed in')")

    page.fill("#login input[name=username]", "ada")
    page.fill("#login input[name=password]", "a-long-password")
    page.click("#login button[type=submit]")
    page.wait_for_selector("#mfa-step", state="visible")
    # The password alone signed nobody in.
    assert "Not signed in" in page.locator("#me").inner_text()
    assert "mfa_required" in page.locator("#output").inner_text()

    page.fill("#mfa-step input[name=code]", totp.now())
    page.click("#mfa-step button[type=submit]")
    page.wait_for_function("document.getElementById('me').textContent.includes('ada')")
    assert page.locator("#mfa-step").is_hidden()
