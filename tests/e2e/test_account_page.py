"""The demo's account page in Debian's Chromium: two browser contexts are two devices."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def sign_in(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.fill("#login input[name=username]", "ada")
    page.fill("#login input[name=password]", "a-long-password")
    page.click("#login button[type=submit]")
    page.wait_for_function("document.getElementById('me').textContent.includes('ada')")


def test_account_page_signs_out_other_device(demo_server: Any, browser: Any) -> None:
    base_url = demo_server()
    httpx.post(
        f"{base_url}/register",
        json={"email": "ada@example.com", "username": "ada", "password": "a-long-password"},
    ).raise_for_status()
    laptop = browser.new_context()
    phone = browser.new_context(
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "
        "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
    )
    laptop_page = laptop.new_page()
    phone_page = phone.new_page()
    sign_in(laptop_page, base_url)
    sign_in(phone_page, base_url)

    laptop_page.goto(f"{base_url}/account")
    laptop_page.wait_for_selector("#devices tr >> nth=1")
    rows = laptop_page.locator("#devices tr")
    assert rows.count() == 2
    assert laptop_page.locator("#devices tr.current").count() == 1
    phone_row = laptop_page.locator("#devices tr", has_text="iOS")
    assert phone_row.count() == 1

    phone_row.locator("button.revoke").click()
    laptop_page.wait_for_function("document.querySelectorAll('#devices tr').length === 1")
    assert "signed out" in laptop_page.locator("#status").inner_text()

    phone_page.goto(f"{base_url}/account")
    phone_page.wait_for_selector("#signed-out", state="visible")
    assert phone_page.locator("#signed-in").is_hidden()


def test_account_page_recovers_lost_csrf_cookie(demo_server: Any, browser: Any) -> None:
    base_url = demo_server()
    httpx.post(
        f"{base_url}/register",
        json={"email": "ada@example.com", "username": "ada", "password": "a-long-password"},
    ).raise_for_status()
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, base_url)
    other = browser.new_context().new_page()
    sign_in(other, base_url)

    cookies = [c for c in context.cookies() if c["name"] != "csrf_token"]
    context.clear_cookies()
    context.add_cookies(cookies)

    page.goto(f"{base_url}/account")
    page.wait_for_selector("#devices tr >> nth=1")
    page.click("#sign-out-others")
    page.wait_for_function("document.getElementById('status').textContent.includes('1 other')")
    assert any(c["name"] == "csrf_token" for c in context.cookies())
