"""Start the demo app under a real uvicorn server on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"demo server exited early with code {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"demo server at {url} did not answer within {timeout} s")


CHROMIUM = shutil.which("chromium") and "/usr/lib/chromium/chromium"
# The flags keep headless Chromium from contacting update and sync services, so a test
# only talks to the server it started.
LAUNCH_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; skipped where it is not installed."""
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


DemoServer = Callable[..., str]


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[DemoServer]:
    """Return ``start(workers=1, **env) -> base_url``; servers stop after the test."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(workers: int = 1, **env: str) -> str:
        port = free_port()
        environment = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}",
            "CRUDAUTH_SECRET_KEY": "e2e-secret-key-0123456789-0123456789",
            # The demo's passkey origin defaults to http://localhost:$PORT.
            "PORT": str(port),
            **env,
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "app:app",
            "--app-dir",
            str(ROOT / "examples" / "demo"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ]
        process = subprocess.Popen(command, cwd=ROOT, env=environment)
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, process)
        return url

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
