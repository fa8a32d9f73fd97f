"""The demo's password reset end to end: request, read the outbox, reset, sign in."""

from __future__ import annotations

import re
import time
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

pytestmark = pytest.mark.e2e

OLD_PASSWORD = "a-long-password"
NEW_PASSWORD = "a-brand-new-password"
LINK = re.compile(r'<a class="outbox-link" href="([^"]+)"')


def outbox_links(client: httpx.Client) -> list[str]:
    page = client.get("/dev/outbox")
    assert page.status_code == 200, page.text
    return [unescape(href) for href in LINK.findall(page.text)]


def test_reset_through_outbox(demo_server: Any) -> None:
    base_url = demo_server()
    with httpx.Client(base_url=base_url) as client:
        home = client.get("/")
        assert "/dev/outbox" in home.text
        assert 'id="forgot"' in home.text

        registered = client.post(
            "/register",
            json={"email": "ada@example.com", "username": "ada", "password": OLD_PASSWORD},
        )
        assert registered.status_code == 200, registered.text

        for address in ["ada@example.com", "nobody@example.com"]:
            requested = client.post("/password/reset-request", json={"email": address})
            assert requested.status_code == 200, requested.text
            assert requested.json() == {
                "detail": "If an account exists, a password reset email has been sent."
            }

        # Delivery runs after each response, so the outbox may lag for a moment.
        deadline = time.monotonic() + 10
        while True:
            links = outbox_links(client)
            reset_links = [link for link in links if link.startswith("/reset-password?")]
            if reset_links or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(reset_links) == 1, links
        # The demo registers with verify_on_register=False, so no verification was sent.
        assert not [link for link in links if link.startswith("/verify-email?")], links

        reset_page = client.get(urljoin(base_url, reset_links[0]))
        assert reset_page.status_code == 200
        assert "/password/reset-confirm" in reset_page.text
        token = parse_qs(urlsplit(reset_links[0]).query)["token"][0]

        reset = client.post(
            "/password/reset-confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert reset.status_code == 200, reset.text
        replay = client.post(
            "/password/reset-confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert replay.status_code == 400

        old = client.post("/login", data={"username": "ada", "password": OLD_PASSWORD})
        assert old.status_code == 401
        new = client.post("/login", data={"username": "ada", "password": NEW_PASSWORD})
        assert new.status_code == 200, new.text
        assert client.get("/me").json()["username"] == "ada"
