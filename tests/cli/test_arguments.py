"""Arguments that are not valid UTF-8 are rejected as bad usage before the app loads."""

from __future__ import annotations

import sys

import pytest

from .conftest import APP_MODULE, PASSWORD, Cli

# How Python decodes the argument bytes b"a\xff": the invalid byte becomes a lone
# surrogate (the surrogateescape error handler).
NOT_UTF8 = "a\udcff"
SHOWN = "'a\\xff'"

NON_UTF8_CASES = [
    pytest.param(("users", "show", NOT_UTF8), "USER", id="users-show"),
    pytest.param(("users", "deactivate", NOT_UTF8), "USER", id="users-deactivate"),
    pytest.param(("users", "activate", NOT_UTF8), "USER", id="users-activate"),
    pytest.param(
        ("users", "set-password", NOT_UTF8, "--password-stdin"), "USER", id="users-set-password"
    ),
    pytest.param(
        (
            "users",
            "create",
            "--email",
            NOT_UTF8,
            "--username",
            "bob",
            "--password-stdin",
        ),
        "--email",
        id="users-create-email",
    ),
    pytest.param(
        (
            "users",
            "create",
            "--email",
            "bob@example.com",
            "--username",
            NOT_UTF8,
            "--password-stdin",
        ),
        "--username",
        id="users-create-username",
    ),
    pytest.param(("sessions", "list", NOT_UTF8), "USER", id="sessions-list"),
    pytest.param(("sessions", "revoke", NOT_UTF8, "--all"), "USER", id="sessions-revoke-user"),
    pytest.param(("sessions", "revoke", "alice", NOT_UTF8), "HANDLE", id="sessions-revoke-handle"),
    pytest.param(
        ("lockout", "show", "--identifier", NOT_UTF8), "--identifier", id="lockout-show-identifier"
    ),
    pytest.param(
        ("lockout", "clear", "--identifier", NOT_UTF8),
        "--identifier",
        id="lockout-clear-identifier",
    ),
    pytest.param(("lockout", "show", "--ip", NOT_UTF8), "--ip", id="lockout-show-ip"),
    pytest.param(
        ("users", "show", "alice", "--asgi-app", NOT_UTF8), "--asgi-app", id="common-option"
    ),
]


@pytest.mark.parametrize(("argv", "argument"), NON_UTF8_CASES)
def test_non_utf8_argument_is_usage(cli: Cli, argv: tuple[str, ...], argument: str) -> None:
    result = cli.run(*argv, stdin=PASSWORD + "\n")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: argument {argument} {SHOWN} is not valid UTF-8; pass the value as UTF-8 text"
    ]
    # The check runs before the app's module is imported, so no store or database
    # was opened.
    assert APP_MODULE not in sys.modules


def test_non_utf8_argument_json_error(cli: Cli) -> None:
    result = cli.run("users", "show", NOT_UTF8, "--json")

    assert result.exit_code == 2
    assert "not valid UTF-8" in result.json()["error"]
    assert APP_MODULE not in sys.modules


def test_non_ascii_utf8_argument_accepted(cli: Cli) -> None:
    cli.create_user("zoë")

    result = cli.run("users", "show", "zoë", "--json")

    assert result.exit_code == 0, result.stderr
    assert result.json()["username"] == "zoë"
