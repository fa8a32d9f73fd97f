"""``crudauth lockout``: the keys the login lockout uses, shown and cleared."""

from __future__ import annotations

import sys

import pytest

from crudauth.cli.lockout import lockout_keys

from .conftest import APP_MODULE, Cli


def fail_logins(cli: Cli, identifier: str, times: int) -> list[int]:
    async def work(client, module):  # type: ignore[no-untyped-def]
        statuses = []
        for _ in range(times):
            response = await client.post(
                "/login", data={"username": identifier, "password": "wrong-password"}
            )
            statuses.append(response.status_code)
        return statuses

    statuses: list[int] = cli.http(work)
    return statuses


def test_keys_canonicalized_like_policy() -> None:
    keys = {key for _, _, key in lockout_keys("2001:db8:1:2::7", " ALICE@Example.com ")}

    assert "login:ip:2001:db8:1:2::/64" in keys
    assert "login:user:alice@example.com" in keys
    assert "login:lock:user:alice@example.com" in keys
    assert "login:rounds:ip:2001:db8:1:2::/64" in keys
    assert "login:pair:2001:db8:1:2::/64:alice@example.com" in keys


def test_show_and_clear_identifier_lock(cli: Cli) -> None:
    cli.create_user("alice")
    statuses = fail_logins(cli, "alice", 6)
    assert statuses[-1] == 429

    shown = cli.run("lockout", "show", "--identifier", "ALICE", "--json")

    assert shown.exit_code == 0, shown.stderr
    assert shown.json()["locked"] is True
    lock = next(k for k in shown.json()["keys"] if k["kind"] == "lock")
    assert lock["ttl_seconds"] > 0

    cleared = cli.run("lockout", "clear", "--identifier", "alice", "--ip", "127.0.0.1")

    assert cleared.exit_code == 0, cleared.stderr
    assert cli.run("lockout", "show", "--identifier", "alice", "--json").json()["locked"] is False
    assert cli.login()["status"] == 200


def test_clear_ip_only_keeps_user_lock(cli: Cli) -> None:
    cli.create_user("alice")
    fail_logins(cli, "alice", 6)

    cli.run("lockout", "clear", "--ip", "127.0.0.1")
    shown = cli.run("lockout", "show", "--ip", "127.0.0.1", "--identifier", "alice", "--json")

    by_subject = {(k["subject"], k["kind"]): k for k in shown.json()["keys"]}
    assert by_subject[("ip:127.0.0.1", "lock")]["count"] is None
    assert by_subject[("user:alice", "lock")]["count"] == 1
    assert cli.login()["status"] == 429


def test_lockout_needs_a_subject(cli: Cli) -> None:
    result = cli.run("lockout", "show")

    assert result.exit_code == 2


@pytest.mark.parametrize("action", ["show", "clear"])
@pytest.mark.parametrize(
    "ip", ["not-an-ip", "", "999.1.1.1", "203.0.113.0/24", "2001:db8::/48", "127.0.0.1 x"]
)
def test_invalid_ip_is_usage(cli: Cli, action: str, ip: str) -> None:
    result = cli.run("lockout", action, "--ip", ip)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"invalid --ip {ip!r}" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert APP_MODULE not in sys.modules


def test_invalid_ip_json_error(cli: Cli) -> None:
    result = cli.run("lockout", "show", "--ip", "not-an-ip", "--identifier", "alice", "--json")

    assert result.exit_code == 2
    assert "invalid --ip 'not-an-ip'" in result.json()["error"]


@pytest.mark.parametrize(
    ("ip", "subject"),
    [
        (" 203.0.113.7 ", "ip:203.0.113.7"),
        ("2001:db8:1:2::7", "ip:2001:db8:1:2::/64"),
        ("2001:db8:1:2::/64", "ip:2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "ip:203.0.113.7"),
        ("unknown", "ip:unknown"),
    ],
)
def test_ip_forms_accepted(cli: Cli, ip: str, subject: str) -> None:
    shown = cli.run("lockout", "show", "--ip", ip, "--json")
    cleared = cli.run("lockout", "clear", "--ip", ip)

    assert shown.exit_code == 0, shown.stderr
    assert {key["subject"] for key in shown.json()["keys"]} == {subject}
    assert cleared.exit_code == 0, cleared.stderr
