"""Register a passkey on the demo's account page, sign out, sign in with it.

Chromium's virtual authenticator (through the DevTools WebAuthn domain) replaces a
platform authenticator with a PIN, so the browser's own WebAuthn code builds every
credential the server checks.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "a-long-password"


def add_virtual_authenticator(page: Any) -> str:
    """Attach a discoverable-credential authenticator with user verification."""
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    result = session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return str(result["authenticatorId"])


def test_register_passkey_then_sign_in(demo_server: Any, browser: Any) -> None:
    base_url = demo_server().replace("127.0.0.1", "localhost")
    httpx.post(
        f"{base_url}/register",
        json={"email": "ada@example.com", "username": "ada", "password": PASSWORD},
    ).raise_for_status()
    page = browser.new_page()
    add_virtual_authenticator(page)

    page.goto(f"{base_url}/")
    page.fill("#login input[name=username]", "ada")
    page.fill("#login input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_function("document.getElementById('me').textContent.includes('ada')")

    page.goto(f"{base_url}/account")
    page.wait_for_selector("#passkey-add", state="visible")
    page.fill("#passkey-add input[name=password]", PASSWORD)
    page.fill("#passkey-add input[name=name]", "Virtual key")
    page.click("#passkey-add button[type=submit]")
    page.wait_for_selector("#passkeys tr")
    assert page.locator("#status").inner_text() == 'Passkey "Virtual key" added.'
    assert page.locator("#passkeys tr td").first.inner_text() == "Virtual key"

    page.goto(f"{base_url}/")
    page.click("#logout")
    page.wait_for_function("document.getElementById('me').textContent.includes('Not signed in')")

    page.click("#passkey-login")
    page.wait_for_function("document.getElementById('me').textContent.includes('ada')")
    assert page.locator("#output").inner_text().startswith("200 ")

    page.goto(f"{base_url}/account")
    page.wait_for_selector("#passkeys tr")
    # The sign-in stamped the passkey's last use.
    assert page.locator("#passkeys tr td").nth(2).inner_text() != ""
