"""``crudauth users``: create, set-password, deactivate, activate and show."""

from __future__ import annotations

import logging

import pytest

from .conftest import PASSWORD, Cli


def test_create_superuser_then_show(cli: Cli) -> None:
    user_id = cli.create_user("root")
    events = cli.module().EVENTS
    shown = cli.run("users", "show", "root", "--json")

    assert shown.exit_code == 0, shown.stderr
    details = shown.json()
    assert details["id"] == user_id
    assert details["email"] == "root@example.com"
    assert details["has_password"] is True
    assert details["is_active"] is True
    assert "hashed_password" not in details
    assert ("on_after_register", user_id, {"source": "cli"}) in events


def test_create_superuser_flag(cli: Cli) -> None:
    result = cli.run(
        "users",
        "create",
        "--email",
        "a@example.com",
        "--username",
        "admin",
        "--superuser",
        "--verified",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    shown = cli.run("users", "show", "admin", "--json").json()

    assert result.exit_code == 0, result.stderr
    assert "created superuser admin" in result.stdout
    assert shown["is_superuser"] is True
    assert shown["email_verified"] is True


def test_create_never_prints_password(cli: Cli, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result = cli.run(
        "users",
        "create",
        "--email",
        "p@example.com",
        "--username",
        "pat",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )

    assert result.exit_code == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert PASSWORD not in caplog.text


def test_create_weak_password_rejected(cli: Cli) -> None:
    result = cli.run(
        "users",
        "create",
        "--email",
        "w@example.com",
        "--username",
        "weak",
        "--password-stdin",
        stdin="short\n",
    )
    shown = cli.run("users", "show", "weak")

    assert result.exit_code == 1
    assert "does not meet the policy" in result.stderr
    assert shown.exit_code == 1


def test_create_duplicate_email_rejected(cli: Cli) -> None:
    cli.create_user("alice")
    result = cli.run(
        "users",
        "create",
        "--email",
        "ALICE@example.com",
        "--username",
        "other",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )

    assert result.exit_code == 1
    assert "already exists" in result.stderr


def test_create_without_terminal_needs_stdin_flag(cli: Cli) -> None:
    result = cli.run("users", "create", "--email", "t@example.com", "--username", "tty")

    assert result.exit_code == 1
    assert "--password-stdin" in result.stderr


def test_create_rejects_escaped_stdin_password(cli: Cli) -> None:
    # A C locale reads the byte 0xFF from stdin as the lone surrogate U+DCFF.
    result = cli.run(
        "users",
        "create",
        "--email",
        "bytes@example.com",
        "--username",
        "bytes",
        "--password-stdin",
        stdin="Correct-Horse-\udcff-1\n",
    )

    assert result.exit_code == 1
    assert "not valid UTF-8" in result.stderr
    assert cli.run("users", "show", "bytes").exit_code == 1


def test_create_missing_login_field_is_usage(cli: Cli) -> None:
    result = cli.run(
        "users", "create", "--email", "u@example.com", "--password-stdin", stdin=PASSWORD + "\n"
    )

    assert result.exit_code == 2
    assert "--username" in result.stderr


def test_set_password_ends_sessions(cli: Cli) -> None:
    user_id = cli.create_user("alice")
    assert cli.login()["status"] == 200
    new_password = "Brand-New-Passw0rd"

    result = cli.run(
        "users", "set-password", "alice", "--password-stdin", "--json", stdin=new_password + "\n"
    )

    assert result.exit_code == 0, result.stderr
    assert result.json()["sessions_ended"] == 1
    assert ("on_after_password_reset", user_id, {"source": "cli"}) in cli.module().EVENTS
    assert new_password not in result.stdout + result.stderr
    assert cli.run("users", "show", "alice", "--json").json()["token_version"] == 1
    assert cli.login(password=PASSWORD)["status"] == 401
    assert cli.login(password=new_password)["status"] == 200


def test_deactivate_then_activate(cli: Cli) -> None:
    cli.create_user("alice")
    assert cli.login()["status"] == 200

    deactivated = cli.run("users", "deactivate", "alice@example.com", "--json")

    assert deactivated.exit_code == 0, deactivated.stderr
    assert deactivated.json()["sessions_ended"] == 1
    assert cli.run("users", "show", "alice", "--json").json()["is_active"] is False
    assert cli.login()["status"] == 401

    activated = cli.run("users", "activate", "alice")

    assert activated.exit_code == 0, activated.stderr
    assert cli.login()["status"] == 200


def test_show_unknown_user_fails(cli: Cli) -> None:
    result = cli.run("users", "show", "nobody")

    assert result.exit_code == 1
    assert "no user" in result.stderr


def test_show_ambiguous_selector_fails(cli: Cli) -> None:
    cli.create_user("alice")
    cli.create_user("1")

    ambiguous = cli.run("users", "show", "1")
    by_username = cli.run("users", "show", "username:1", "--json")

    assert ambiguous.exit_code == 1
    assert "prefix it" in ambiguous.stderr
    assert by_username.json()["username"] == "1"


def test_show_counts_sessions_and_tokens(cli: Cli) -> None:
    cli.create_user("alice")
    cli.login()

    cli.token()
    details = cli.run("users", "show", "alice", "--json").json()

    # One browser session and the token family of the /token sign-in.
    assert details["sessions"] == 2


def test_show_counts_each_kind(cli: Cli) -> None:
    cli.create_user("alice")
    cli.login()
    cli.login()
    cli.token()

    details = cli.run("users", "show", "alice", "--json").json()
    lines = cli.run("users", "show", "alice").stdout.splitlines()
    text = dict(line.split(maxsplit=1) for line in lines)

    # Two browser sessions and the token family of the /token sign-in.
    assert details["sessions"] == 3
    assert details["browser_sessions"] == 2
    assert details["token_families"] == 1
    assert text["sessions"] == "3"
    assert text["browser_sessions"] == "2"
    assert text["token_families"] == "1"


def test_show_counts_without_tokens(cli: Cli) -> None:
    cli.create_user("alice")
    cli.login()

    details = cli.run("users", "show", "alice", "--json").json()

    assert details["sessions"] == 1
    assert details["browser_sessions"] == 1
    assert details["token_families"] == 0
