"""``take_user_summaries`` on every backend: summaries instead of values, same ownership."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import update

from crudauth.storage.backends.database_storage import DatabaseSessionStorage
from crudauth.storage.backends.redis import RedisSessionStorage
from crudauth.storage.base import AbstractSessionStorage
from crudauth.storage.summaries import UNREADABLE_SUMMARY

Store = AbstractSessionStorage[Any]


class Device(BaseModel):
    """A value that summarizes itself, as a session record does."""

    user_id: Any = None
    name: str = ""
    seen: int = 0

    def index_summary(self) -> str:
        return f"{self.name}@{self.seen}"


class PlainDevice(BaseModel):
    """The same fields written by a model without a summary."""

    user_id: Any = None
    name: str = ""
    seen: int = 0


class Unsummarized(BaseModel):
    user_id: Any = None


async def test_take_returns_summaries(storage: Store) -> None:
    for number in range(30):
        await storage.create(Device(user_id=6, name=f"d{number}"), session_id=f"s{number}")
    await storage.create(Device(user_id=7, name="other"), session_id="other")

    taken = await storage.take_user_summaries(6, Device, keep=["s0"])

    assert sorted(taken) == sorted((f"s{number}", f"d{number}@0") for number in range(1, 30))
    assert await storage.get_user_sessions(6) == ["s0"]
    assert await storage.get("s1", Device) is None
    assert await storage.get("s0", Device) == Device(user_id=6, name="d0")
    assert await storage.get("other", Device) == Device(user_id=7, name="other")


async def test_summary_follows_latest_write(storage: Store) -> None:
    await storage.create(Device(user_id=6, name="laptop"), session_id="s")

    def touch(device: Device) -> None:
        device.seen = 5

    assert await storage.modify("s", Device, touch) is not None
    assert await storage.update("t", Device(user_id=6), reset_expiration=False) is False
    await storage.create(Device(user_id=6, name="phone"), session_id="u")
    assert await storage.update("u", Device(user_id=6, name="phone", seen=9)) is True

    taken = await storage.take_user_summaries(6, Device)

    assert sorted(taken) == [("s", "laptop@5"), ("u", "phone@9")]


async def test_take_spares_other_owner(storage: Store) -> None:
    await storage.create(Device(user_id=6, name="mine"), session_id="mine")
    await storage.create(Device(user_id=6, name="moved"), session_id="moved")
    # Rewritten for another owner: a backend may leave the first owner's entry listed.
    assert await storage.update("moved", Device(user_id=8, name="moved"))

    taken = await storage.take_user_summaries(6, Device)

    assert taken == [("mine", "mine@0")]
    assert await storage.get("moved", Device) == Device(user_id=8, name="moved")
    assert await storage.take_user_summaries(8, Device) == [("moved", "moved@0")]


async def test_take_summarizes_plain_values(storage: Store) -> None:
    await storage.create(PlainDevice(user_id=6, name="old"), session_id="old")
    await storage.create(Device(user_id=6, name="new"), session_id="new")

    taken = await storage.take_user_summaries(6, Device)

    assert sorted(taken) == [("new", "new@0"), ("old", "old@0")]
    assert await storage.get("old", Device) is None


async def test_take_skips_expired_value(storage: Store) -> None:
    await storage.create(Device(user_id=6, name="brief"), session_id="brief", expiration=1)
    await storage.create(Device(user_id=6, name="long"), session_id="long")
    await asyncio.sleep(1.2)

    taken = await storage.take_user_summaries(6, Device)

    assert taken == [("long", "long@0")]
    assert await storage.get_user_sessions(6) == []


async def test_take_without_summary_model_fails(storage: Store) -> None:
    await storage.create(PlainDevice(user_id=6), session_id="plain")

    with pytest.raises(TypeError, match="index_summary"):
        await storage.take_user_summaries(6, Unsummarized)


async def test_take_of_unknown_owner_is_empty(storage: Store) -> None:
    assert await storage.take_user_summaries(404, Device) == []


async def test_redis_entry_without_summary_is_read(storage: Store) -> None:
    if not isinstance(storage, RedisSessionStorage):
        pytest.skip("the summary hash exists on Redis only")
    await storage.create(Device(user_id=6, name="listed"), session_id="listed")
    await storage.create(Device(user_id=6, name="kept"), session_id="kept")
    # As a store that kept no summaries left it.
    await storage.client.delete(storage.user_summary_key(6))

    taken = await storage.take_user_summaries(6, Device, keep=["kept"])

    assert taken == [("listed", "listed@0")]
    assert await storage.get("listed", Device) is None
    assert await storage.get_user_sessions(6) == ["kept"]


async def test_redis_delete_drops_summary(storage: Store) -> None:
    if not isinstance(storage, RedisSessionStorage):
        pytest.skip("the summary hash exists on Redis only")
    for session_id in ("a", "b", "c"):
        await storage.create(Device(user_id=6, name=session_id), session_id=session_id)

    await storage.delete("a", user_id=6)
    await storage.delete_many(["b"])
    await storage.remove_from_user_index(6, "c")

    assert await storage.client.hgetall(storage.user_summary_key(6)) == {}


class LateOwner(BaseModel):
    """A summarized value whose JSON does not start with its owner."""

    name: str = ""
    user_id: Any = None

    def index_summary(self) -> str:
        return self.name


async def test_take_reads_owner_past_head(storage: Store) -> None:
    # Longer than the first bytes that the Redis script reads, within the 255
    # characters that the database store keeps for an owner.
    long_owner = "u" * 200
    await storage.create(Device(user_id=long_owner, name="long"), session_id="long")
    await storage.create(LateOwner(user_id=6, name="late"), session_id="late")
    await storage.create(LateOwner(user_id=7, name="moved"), session_id="moved")
    await storage.update("moved", LateOwner(user_id=8, name="moved"))

    assert await storage.take_user_summaries(long_owner, Device) == [("long", "long@0")]
    assert await storage.take_user_summaries(6, LateOwner) == [("late", "late")]
    assert await storage.take_user_summaries(7, LateOwner) == []
    assert await storage.get("moved", LateOwner) == LateOwner(user_id=8, name="moved")


async def test_redis_take_all_drops_index_keys(storage: Store) -> None:
    if not isinstance(storage, RedisSessionStorage):
        pytest.skip("the index keys are Redis keys")
    for session_id in ("a", "b"):
        await storage.create(Device(user_id=6, name=session_id), session_id=session_id)
    await storage.client.hset(storage.user_summary_key(6), "stale", "gone@0")

    assert len(await storage.take_user_summaries(6, Device)) == 2

    index_keys = (storage.user_index_key(6), storage.user_summary_key(6))
    assert await storage.client.exists(*index_keys) == 0


class Miscounted(BaseModel):
    """A value whose ``seen`` no longer validates as ``Device.seen``."""

    user_id: Any = None
    name: str = ""
    seen: str = "many"


class SummaryField(BaseModel):
    """A value with a field, not a method, named like the summary method."""

    user_id: Any = None
    index_summary: str = "not a method"


async def test_take_marks_unreadable_value(storage: Store) -> None:
    await storage.create(PlainDevice(user_id=6, name="good"), session_id="good")
    await storage.create(Miscounted(user_id=6), session_id="bad")

    taken = await storage.take_user_summaries(6, Device)

    assert sorted(taken) == [("bad", UNREADABLE_SUMMARY), ("good", "good@0")]
    assert await storage.get("bad", Miscounted) is None
    assert await storage.get_user_sessions(6) == []


async def test_summary_field_is_no_summary(storage: Store) -> None:
    await storage.create(SummaryField(user_id=6), session_id="field")

    taken = await storage.take_user_summaries(6, Device)

    assert taken == [("field", "@0")]


async def test_concurrent_takes_share_nothing(storage: Store) -> None:
    for number in range(20):
        await storage.create(Device(user_id=6, name=f"d{number}"), session_id=f"s{number}")

    first, second = await asyncio.gather(
        storage.take_user_summaries(6, Device), storage.take_user_values(6, Device)
    )

    taken = [session_id for session_id, _ in first] + [session_id for session_id, _ in second]
    assert sorted(taken) == sorted(f"s{number}" for number in range(20))
    assert await storage.get_user_sessions(6) == []


async def test_database_marks_non_object_value(storage: Store) -> None:
    if not isinstance(storage, DatabaseSessionStorage):
        pytest.skip("written straight into the database store's table")
    await storage.create(PlainDevice(user_id=6, name="good"), session_id="good")
    await storage.create(PlainDevice(user_id=6, name="list"), session_id="list")
    table = storage.table
    change = update(table).where(table.c.key == storage.get_key("list")).values(value="[1,2]")

    async def corrupt(session: Any) -> None:
        await session.execute(change)

    await storage.database.run(corrupt)

    taken = await storage.take_user_summaries(6, Device)

    assert sorted(taken) == [("good", "good@0"), ("list", UNREADABLE_SUMMARY)]
    assert await storage.get_user_sessions(6) == []
