"""Start and stop the processes the benchmark owns: a throwaway Redis and the app.

Both listen on 127.0.0.1 only and are stopped by their own pid.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def pinned(command: list[str], cpu: int | None) -> list[str]:
    """Prefix ``command`` with ``taskset -c cpu`` where taskset exists."""
    if cpu is None or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", str(cpu), *command]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _wait_until(check: object, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer within {START_TIMEOUT_SECONDS:.0f} s")


def _redis_answers(port: int) -> bool:
    with socket.create_connection((HOST, port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


@contextmanager
def redis_server(cpu: int | None = None) -> Iterator[str]:
    """Run a throwaway Redis without persistence, pinned to ``cpu``; yield its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is missing: apt-get install redis-server (make bench does this)"
        )
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="crudauth-bench-redis-") as folder:
        command = [binary, "--bind", HOST, "--port", str(port), "--dir", folder]
        command += ["--save", "", "--appendonly", "no"]
        process = subprocess.Popen(
            pinned(command, cpu), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait_until(lambda: _redis_answers(port), f"Redis on port {port}")
            yield f"redis://{HOST}:{port}/0"
        finally:
            _stop(process)


def _app_answers(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request("GET", "/bare")
        return connection.getresponse().status == 200
    finally:
        connection.close()


@contextmanager
def app_server(
    redis_url: str | None, cpu: int | None, *, user_cache_ttl: float | None = None
) -> Iterator[int]:
    """Run ``bench/app.py`` under uvicorn with one worker; yield its port."""
    port = free_port()
    env = dict(os.environ)
    env.pop("BENCH_REDIS_URL", None)
    env.pop("BENCH_USER_CACHE_TTL", None)
    if redis_url:
        env["BENCH_REDIS_URL"] = redis_url
    if user_cache_ttl is not None:
        env["BENCH_USER_CACHE_TTL"] = str(user_cache_ttl)
    command = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(ROOT / "bench")]
    command += ["--host", HOST, "--port", str(port), "--workers", "1"]
    command += ["--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(pinned(command, cpu), env=env, cwd=ROOT)
    try:
        _wait_until(lambda: _app_answers(port), f"the bench app on port {port}")
        yield port
    finally:
        _stop(process)
