"""``crudauth lockout``: the keys the login lockout uses, shown and cleared."""

from __future__ import annotations

from crudauth.cli.lockout import lockout_keys

from .conftest import Cli


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
