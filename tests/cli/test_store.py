"""``crudauth store purge-expired`` on the database store and the Redis user indexes."""

from __future__ import annotations

import io

import pytest
from pydantic import BaseModel

from crudauth.cli.output import Output

from .conftest import REDIS_URL, Cli


class Entry(BaseModel):
    user_id: str | None = None
    value: str = "x"


def test_purge_database_rows(cli: Cli) -> None:
    if cli.backend != "sqlite":
        pytest.skip("the database store exists only in the SQLite setup")
    cli.create_user("alice")
    cli.login()

    async def write_expired(client, module):  # type: ignore[no-untyped-def]
        store = module.database_store.storage(prefix="purge-test:")
        await store.create(Entry(), session_id="gone", expiration=0)
        await store.create(Entry(), session_id="kept", expiration=600)

    cli.http(write_expired)
    result = cli.run("store", "purge-expired", "--json")

    async def remaining(client, module):  # type: ignore[no-untyped-def]
        store = module.database_store
        return await store.run(lambda session: _keys(session, store.store), write=False)

    assert result.exit_code == 0, result.stderr
    counts = result.json()
    assert counts["database_rows"] == 1
    assert counts["database_stores"] == 1
    keys = cli.http(remaining)
    assert "purge-test:gone" not in keys
    assert "purge-test:kept" in keys
    assert len(cli.run("sessions", "list", "alice", "--json").json()["sessions"]) == 1


async def _keys(session, table):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    return set((await session.execute(select(table.c.key))).scalars())


def test_purge_redis_index_entries(cli: Cli) -> None:
    if cli.backend != "redis":
        pytest.skip("per-user indexes exist only in the Redis setup")
    assert REDIS_URL is not None
    user_id = cli.create_user("alice")
    cli.login()

    async def add_stale(client, module):  # type: ignore[no-untyped-def]
        storage = module.auth.sessions.storage
        index_key = storage.user_index_key(user_id)
        await storage.client.sadd(index_key, "expired-record-a", "expired-record-b")
        return index_key

    index_key = cli.http(add_stale)
    result = cli.run("store", "purge-expired", "--json")

    async def members(client, module):  # type: ignore[no-untyped-def]
        return await module.auth.sessions.storage.client.smembers(index_key)

    assert result.exit_code == 0, result.stderr
    assert result.json()["redis_index_entries"] == 2
    left = {m.decode() for m in cli.http(members)}
    assert "expired-record-a" not in left
    assert len(left) == 1
    assert len(cli.run("sessions", "list", "alice", "--json").json()["sessions"]) == 1


def test_purge_plain_counts_off_terminal(cli: Cli) -> None:
    result = cli.run("store", "purge-expired")

    assert result.exit_code == 0, result.stderr
    assert "expired rows deleted" in result.stdout
    assert "[" not in result.stdout


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_terminal() -> None:
    stream = Terminal()
    progress = Output(stdout=stream).progress("purging", 4)
    progress.advance(2)
    progress.finish()

    assert "[###############---------------] 2/4" in stream.getvalue()
    assert stream.getvalue().endswith("4/4\n")


def test_progress_silent_off_terminal() -> None:
    stream = io.StringIO()
    progress = Output(stdout=stream).progress("purging", 4)
    progress.advance()

    assert stream.getvalue() == ""


def test_progress_silent_with_json() -> None:
    stream = Terminal()
    Output(as_json=True, stdout=stream).progress("purging", 2).advance()

    assert stream.getvalue() == ""
