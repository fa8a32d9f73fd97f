"""Listing and revoking a user's sessions on Redis take a constant number of round trips."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from redis.asyncio.connection import Connection

from crudauth.storage.backends.redis import RedisSessionStorage

pytestmark = pytest.mark.redis


class Record(BaseModel):
    user_id: Any = None


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count packed sends: one per command, one per whole pipeline."""
    sent = [0]
    original = Connection.send_packed_command

    async def counting(self: Connection, command: Any, check_health: bool = True) -> None:
        sent[0] += 1
        await original(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counting)
    return sent


@pytest.mark.parametrize("count", [3, 30])
async def test_list_and_revoke_constant(storage: Any, round_trips: list[int], count: int) -> None:
    if not isinstance(storage, RedisSessionStorage):
        pytest.skip("round trips are measured on Redis only")
    for _ in range(count):
        await storage.create(Record(user_id=11))
    await storage.get("warm-up", Record)

    round_trips[0] = 0
    ids = await storage.get_user_sessions(11)
    records = await storage.get_many(ids, Record)
    assert len(records) == count
    assert round_trips[0] == 2

    round_trips[0] = 0
    assert await storage.delete_many(ids, user_id=11) == count
    assert round_trips[0] == 1
    assert await storage.get_user_sessions(11) == []


@pytest.mark.parametrize("count", [3, 30])
async def test_take_is_one_round_trip(storage: Any, round_trips: list[int], count: int) -> None:
    if not isinstance(storage, RedisSessionStorage):
        pytest.skip("round trips are measured on Redis only")
    ids = [await storage.create(Record(user_id=12)) for _ in range(count)]
    await storage.initialize()

    round_trips[0] = 0
    removed = await storage.take_user_values(12, Record, keep=[ids[0]])
    assert round_trips[0] == 1
    assert sorted(session_id for session_id, _ in removed) == sorted(ids[1:])
    assert await storage.get_user_sessions(12) == [ids[0]]


async def test_take_matches_owner_as_string(storage: Any) -> None:
    if not isinstance(storage, RedisSessionStorage):
        pytest.skip("the server-side owner check runs on Redis only")
    big = 2**60 + 1
    mine = [
        await storage.create(Record(user_id=big)),
        await storage.create(Record(user_id=str(big))),
    ]
    # Equal to the owner as a double, but a different user.
    near = await storage.create(Record(user_id=big - 1))
    await storage.client.sadd(storage.user_index_key(big), near)

    removed = await storage.take_user_values(big, Record)
    assert sorted(session_id for session_id, _ in removed) == sorted(mine)
    assert await storage.get(near, Record) == Record(user_id=big - 1)
    assert await storage.get_user_sessions(big) == [near]
