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
