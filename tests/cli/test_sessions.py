"""``crudauth sessions``: the rows of ``GET /sessions``, revoking one or all."""

from __future__ import annotations

import sys

from .conftest import APP_MODULE, Cli


def test_list_matches_http_rows(cli: Cli) -> None:
    cli.create_user("alice")
    first = cli.login()
    second = cli.login()

    result = cli.run("sessions", "list", "alice", "--json")

    assert result.exit_code == 0, result.stderr
    handles = {row["id"] for row in result.json()["sessions"]}
    assert handles == {row["id"] for row in second["sessions"]}
    assert len(handles) == 2
    assert all(row["session_id"] == row["id"] for row in result.json()["sessions"])
    assert all(row["current"] is False for row in result.json()["sessions"])
    cookies = [first["cookies"]["session_id"], second["cookies"]["session_id"]]
    text = cli.run("sessions", "list", "alice")
    for cookie in cookies:
        assert cookie not in result.stdout
        assert cookie not in text.stdout
    assert "Firefox" in text.stdout


def test_revoke_one_by_handle(cli: Cli) -> None:
    cli.create_user("alice")
    cli.login()
    kept = cli.login()["sessions"]
    handle = kept[0]["id"]

    result = cli.run("sessions", "revoke", "alice", handle)
    remaining = cli.run("sessions", "list", "alice", "--json").json()["sessions"]

    assert result.exit_code == 0, result.stderr
    assert len(remaining) == 1
    assert remaining[0]["id"] != handle


def test_revoke_unknown_handle_fails(cli: Cli) -> None:
    cli.create_user("alice")
    cli.create_user("bob")
    bob_handle = cli.login("bob")["sessions"][0]["id"]

    result = cli.run("sessions", "revoke", "alice", bob_handle)
    bob_sessions = cli.run("sessions", "list", "bob", "--json").json()["sessions"]

    assert result.exit_code == 1
    assert len(bob_sessions) == 1


def test_revoke_all_ends_tokens(cli: Cli) -> None:
    cli.create_user("alice")
    cli.login()
    cli.login()

    access = cli.token()
    result = cli.run("sessions", "revoke", "alice", "--all", "--json")

    assert result.exit_code == 0, result.stderr
    # Two browser sessions and the token family of the /token sign-in.
    assert result.json()["revoked"] == 3
    assert cli.run("sessions", "list", "alice", "--json").json()["sessions"] == []
    assert cli.bearer_status(access) == 401


def test_revoke_needs_handle_or_all(cli: Cli) -> None:
    cli.create_user("alice")

    neither = cli.run("sessions", "revoke", "alice")
    both = cli.run("sessions", "revoke", "alice", "abc", "--all")

    assert neither.exit_code == 2
    assert both.exit_code == 2
    assert "HANDLE or --all" in neither.stderr
    assert "HANDLE or --all" in both.stderr


def test_revoke_usage_checked_before_load(cli: Cli) -> None:
    result = cli.run("sessions", "revoke", "alice")

    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: give either a session HANDLE or --all"]
    # The app's module was never imported, so no store or database was opened.
    assert APP_MODULE not in sys.modules


def test_token_family_listed_and_revoked(cli: Cli) -> None:
    cli.create_user("alice")
    cli.login()

    access = cli.token()
    rows = cli.run("sessions", "list", "alice", "--json").json()["sessions"]
    family = next(row for row in rows if row["kind"] == "token")

    result = cli.run("sessions", "revoke", "alice", family["id"])

    assert [row["kind"] for row in rows].count("session") == 1
    assert result.exit_code == 0, result.stderr
    remaining = cli.run("sessions", "list", "alice", "--json").json()["sessions"]
    assert [row["kind"] for row in remaining] == ["session"]
    assert cli.bearer_status(access) == 401
