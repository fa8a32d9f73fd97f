"""``python -m crudauth`` as a real process: help, exit codes, the demo and production."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crudauth", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_help_exits_zero() -> None:
    result = run("--help")

    assert result.returncode == 0, result.stderr
    assert "usage: crudauth" in result.stdout
    for command in ("users", "sessions", "lockout", "store", "check"):
        assert command in result.stdout


def test_unknown_option_exits_two() -> None:
    result = run("users", "show", "--no-such-option", "x")

    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


def test_non_utf8_argument_exits_two() -> None:
    # A shell passes arguments as bytes. b"a\xff" is not UTF-8, so Python decodes it to
    # a lone surrogate. No database is configured, so loading the app would exit 1.
    env = {name: value for name, value in os.environ.items() if not name.startswith("CLI_TEST_")}
    app = ["--auth", "cli_app:auth", "--app-dir", "tests/cli/apps"]
    result = subprocess.run(
        [sys.executable, "-m", "crudauth", *app, "users", "show", b"a\xff"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "error: argument USER 'a\\xff' is not valid UTF-8; pass the value as UTF-8 text\n"
    )


def test_demo_check_flags_development_settings(tmp_path: Path) -> None:
    # A configured key keeps the demo from writing one under the repository's var/.
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "CRUDAUTH_SECRET_KEY": "Yc4nW8qPz2LrT6vXk0mJ5sHb9dFg3aE7-uQ1iO",
    }
    env_without_key = dict(os.environ)
    for name in ("REDIS_URL", "WEB_CONCURRENCY", "CRUDAUTH_MFA_KEY"):
        env_without_key.pop(name, None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crudauth",
            "--auth",
            "app:auth",
            "--app-dir",
            "examples/demo",
            "check",
            "--json",
        ],
        capture_output=True,
        text=True,
        env={**env_without_key, **env},
        cwd=ROOT,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1, result.stderr
    ids = {problem["id"] for problem in json.loads(result.stdout)["problems"]}
    assert "insecure-cookies" in ids
    assert "memory-stores" in ids
    # The demo makes a new MFA key on every start of a single worker.
    assert "mfa-key-per-start" in ids


def test_demo_user_commands(tmp_path: Path) -> None:
    demo = ["--auth", "app:auth", "--app-dir", "examples/demo"]
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "CRUDAUTH_SECRET_KEY": "Yc4nW8qPz2LrT6vXk0mJ5sHb9dFg3aE7-uQ1iO",
    }
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "crudauth",
            *demo,
            "users",
            "create",
            "--email",
            "ops@example.com",
            "--username",
            "ops",
            "--password-stdin",
        ],
        input="Correct-Horse-1\n",
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    shown = run(*demo, "users", "show", "ops", "--json", env=env)

    assert created.returncode == 0, created.stderr
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["email"] == "ops@example.com"


@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_password_stdin_rejects_non_utf8(tmp_path: Path, locale: str) -> None:
    demo = ["--auth", "app:auth", "--app-dir", "examples/demo"]
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "CRUDAUTH_SECRET_KEY": "Yc4nW8qPz2LrT6vXk0mJ5sHb9dFg3aE7-uQ1iO",
        "LC_ALL": locale,
        "PYTHONUTF8": "0",
    }
    argv = ["users", "create", "--email", "raw@example.com", "--username", "raw"]
    created = subprocess.run(
        [sys.executable, "-m", "crudauth", *demo, *argv, "--password-stdin"],
        input=b"Correct-Horse-\xff-1\n",
        capture_output=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    shown = run(*demo, "users", "show", "raw", env=env)

    assert created.returncode == 1, created.stderr
    assert b"not valid UTF-8" in created.stderr
    assert b"Traceback" not in created.stderr
    assert shown.returncode == 1


@pytest.mark.skipif(REDIS_URL is None, reason="Redis not started")
def test_production_example_passes_check(tmp_path: Path) -> None:
    assert REDIS_URL is not None
    env = {
        "CRUDAUTH_SECRET_KEY": "Yc4nW8qPz2LrT6vXk0mJ5sHb9dFg3aE7-uQ1iO",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'production.db'}",
        "REDIS_URL": REDIS_URL,
        "WEB_CONCURRENCY": "4",
    }

    result = run(
        "--auth",
        "app:auth",
        "--app-dir",
        "examples/production",
        "check",
        "--behind-proxy",
        env=env,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems found" in result.stdout
