"""Start the demo app under a real uvicorn server on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

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
