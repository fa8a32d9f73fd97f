"""The demo signs in through the fake OpenID Connect provider, both on real servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from oauth_support import fake_provider_module

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def fake() -> Iterator[Any]:
    module = fake_provider_module()
    running = module.RunningProvider(module.FakeProvider(clients={"demo": ""})).start()
    yield running
    running.stop()


@pytest.fixture
def demo(fake: Any, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}",
        "CRUDAUTH_SECRET_KEY": "e2e-secret-key-0123456789-0123456789",
        "OIDC_ISSUER": fake.base_url,
        "OIDC_CLIENT_ID": "demo",
        "OIDC_LABEL": "Fake ID",
        "DEMO_PUBLIC_URL": url,
    }
    command = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", "examples/demo"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, "demo exited early"
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "demo did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_demo_signs_in_through_fake_provider(demo: str, fake: Any) -> None:
    fake.provider.queue(fake_provider_module().Identity(email="grace@example.com"))
    with httpx.Client(base_url=demo) as browser:
        links = browser.get("/sign-in-links").json()
        assert links == [
            {"label": "Sign in with Fake ID", "url": "/oauth/oidc/authorize?redirect_to=/account"}
        ]
        started = browser.get(links[0]["url"])
        assert started.status_code == 307, started.text
        assert started.headers["location"].startswith(fake.url("/authorize?"))
        at_provider = browser.get(started.headers["location"])
        assert at_provider.status_code == 302, at_provider.text
        done = browser.get(at_provider.headers["location"])
        assert done.status_code == 307, done.text
        assert done.headers["location"] == "/account"
        me = browser.get("/me")
        assert me.status_code == 200, me.text
        assert me.json()["email"] == "grace@example.com"


def test_fake_provider_serves_sign_in_form(fake: Any) -> None:
    page = httpx.get(fake.url("/authorize"), params={"client_id": "demo", "state": "s"})
    assert page.status_code == 200
    assert "Approve" in page.text
    approved = httpx.post(
        fake.url("/authorize"),
        data={
            "client_id": "demo",
            "redirect_uri": "http://127.0.0.1/cb",
            "state": "s",
            "email": "x@example.com",
            "decision": "approve",
        },
    )
    assert approved.status_code == 302
    assert approved.headers["location"].startswith("http://127.0.0.1/cb?code=")
    denied = httpx.post(
        fake.url("/authorize"),
        data={"client_id": "demo", "redirect_uri": "http://127.0.0.1/cb", "decision": "deny"},
    )
    assert "error=access_denied" in denied.headers["location"]
