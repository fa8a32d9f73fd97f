"""Run ``crudauth`` commands in-process against ``cli_app`` on SQLite and on Redis.

Every command call imports ``cli_app`` afresh, as a new process would, so state is
shared only through the SQLite file and Redis, never through module globals.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from crudauth.cli import main

REDIS_URL = os.environ.get("CRUDAUTH_TEST_REDIS_URL")
# No conftest.py lives beside the app, so putting its directory on sys.path cannot
# shadow the suite's top-level conftest module.
HERE = Path(__file__).resolve().parent / "apps"
APP_MODULE = "cli_app"
SECRET_KEY = "Kq7vR2xN9pL4wZ8mT1yB6cF3hJ5dS0gA-uE"
PASSWORD = "Correct-Horse-1"


@dataclass
class CommandResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def fresh_module() -> ModuleType:
    """Import ``cli_app`` again, dropping the copy an earlier call left behind."""
    sys.modules.pop(APP_MODULE, None)
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    return importlib.import_module(APP_MODULE)


@dataclass
class Cli:
    """Call commands and drive the app over HTTP against one database and store."""

    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    backend: str

    def run(self, *argv: str, stdin: str | None = None) -> CommandResult:
        sys.modules.pop(APP_MODULE, None)
        self.capsys.readouterr()
        with self.monkeypatch.context() as patch:
            if stdin is not None:
                patch.setattr(sys, "stdin", io.StringIO(stdin))
            code = main(["--auth", f"{APP_MODULE}:auth", "--app-dir", str(HERE), *argv])
        captured = self.capsys.readouterr()
        return CommandResult(code, captured.out, captured.err)

    def module(self) -> ModuleType:
        """Return the ``cli_app`` module the last command used."""
        return sys.modules[APP_MODULE]

    def create_user(self, username: str = "alice", password: str = PASSWORD) -> int:
        result = self.run(
            "users",
            "create",
            "--email",
            f"{username}@example.com",
            "--username",
            username,
            "--password-stdin",
            "--json",
            stdin=password + "\n",
        )
        assert result.exit_code == 0, result.stderr
        return int(result.json()["created"]["id"])

    def http(self, work: Callable[[httpx.AsyncClient, ModuleType], Any]) -> Any:
        """Run ``work(client, module)`` inside the app's lifespan and return its result."""
        module = fresh_module()

        async def runner() -> Any:
            async with module.app.router.lifespan_context(module.app):
                transport = httpx.ASGITransport(app=module.app)
                async with httpx.AsyncClient(
                    transport=transport,
                    base_url="https://testserver",
                    headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"},
                ) as client:
                    return await work(client, module)

        return asyncio.run(runner())

    def login(self, username: str = "alice", password: str = PASSWORD) -> dict[str, Any]:
        """Log in over HTTP; return the status, the cookies and the ``GET /sessions`` rows."""

        async def work(client: httpx.AsyncClient, module: ModuleType) -> dict[str, Any]:
            response = await client.post(
                "/login", data={"username": username, "password": password}
            )
            rows = []
            if response.status_code == 200:
                rows = (await client.get("/sessions")).json()
            return {
                "status": response.status_code,
                "cookies": dict(client.cookies),
                "sessions": rows,
            }

        result: dict[str, Any] = self.http(work)
        return result

    def token(self, username: str = "alice", password: str = PASSWORD) -> str:
        """Sign in through ``POST /token``; return the access token."""

        async def work(client: httpx.AsyncClient, module: ModuleType) -> str:
            response = await client.post(
                "/token", data={"username": username, "password": password}
            )
            assert response.status_code == 200, response.text
            return str(response.json()["access_token"])

        access: str = self.http(work)
        return access

    def bearer_status(self, access: str) -> int:
        """Return the status of ``GET /me`` with ``access`` as the bearer token."""

        async def work(client: httpx.AsyncClient, module: ModuleType) -> int:
            response = await client.get("/me", headers={"Authorization": f"Bearer {access}"})
            return response.status_code

        status: int = self.http(work)
        return status


def backend_params() -> list[Any]:
    return [
        "sqlite",
        pytest.param(
            "redis",
            marks=pytest.mark.skipif(REDIS_URL is None, reason="Redis not started"),
        ),
    ]


@pytest.fixture(params=backend_params())
def cli(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Cli]:
    """A command runner over a fresh SQLite user database and store."""
    backend = str(request.param)
    # The loader prepends --app-dir to sys.path; the copy is dropped after the test.
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("CLI_TEST_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'users.db'}")
    monkeypatch.setenv("CLI_TEST_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("CLI_TEST_PREFIX", f"clitest-{uuid.uuid4().hex[:12]}:")
    monkeypatch.delenv("CLI_TEST_RANDOM_KEY", raising=False)
    monkeypatch.delenv("CRUDAUTH_APP", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    if backend == "redis":
        assert REDIS_URL is not None
        monkeypatch.setenv("CLI_TEST_REDIS_URL", REDIS_URL)
    else:
        monkeypatch.delenv("CLI_TEST_REDIS_URL", raising=False)
    yield Cli(capsys=capsys, monkeypatch=monkeypatch, backend=backend)
    sys.modules.pop(APP_MODULE, None)
