"""The storage port's contract, run on every backend."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from crudauth.storage.base import AbstractSessionStorage

Store = AbstractSessionStorage[Any]


class Record(BaseModel):
    user_id: Any = None
    note: str = ""
    counter: int = 0


async def test_create_get_round_trip(storage: Store) -> None:
    session_id = await storage.create(Record(user_id=1, note="a"), session_id="abc")
    assert session_id == "abc"
    assert await storage.get("abc", Record) == Record(user_id=1, note="a")


async def test_create_without_id_returns_uuid(storage: Store) -> None:
    session_id = await storage.create(Record())
    assert uuid.UUID(session_id)
    assert await storage.exists(session_id) is True


async def test_exists_and_delete(storage: Store) -> None:
    await storage.create(Record(), session_id="gone")
    assert await storage.exists("gone") is True
    assert await storage.delete("gone") is True
    assert await storage.exists("gone") is False
    assert await storage.get("gone", Record) is None
    assert await storage.delete("gone") is False


async def test_update_live_and_missing(storage: Store) -> None:
    await storage.create(Record(note="old"), session_id="u")
    assert await storage.update("u", Record(note="new")) is True
    assert await storage.get("u", Record) == Record(note="new")
    assert await storage.update("missing", Record()) is False
    assert await storage.exists("missing") is False


async def test_update_keeping_ttl(storage: Store) -> None:
    await storage.create(Record(note="old"), session_id="k")
    assert await storage.update("k", Record(note="new"), reset_expiration=False) is True
    assert await storage.get("k", Record) == Record(note="new")


async def test_extend_live_and_missing(storage: Store) -> None:
    await storage.create(Record(), session_id="e")
    assert await storage.extend("e", expiration=120) is True
    assert await storage.extend("missing") is False


async def test_value_expires(storage: Store) -> None:
    await storage.create(Record(user_id=3), session_id="short", expiration=1)
    await asyncio.sleep(1.2)
    assert await storage.get("short", Record) is None
    assert await storage.exists("short") is False
    assert await storage.update("short", Record()) is False
    assert await storage.extend("short") is False


async def test_user_sessions_int_ids(storage: Store) -> None:
    await storage.create(Record(user_id=7), session_id="a")
    await storage.create(Record(user_id=7), session_id="b")
    await storage.create(Record(user_id=8), session_id="c")
    await storage.create(Record(), session_id="d")
    assert sorted(await storage.get_user_sessions(7)) == ["a", "b"]
    assert sorted(await storage.get_user_sessions("7")) == ["a", "b"]
    assert await storage.get_user_sessions(9) == []


async def test_user_sessions_uuid_ids(storage: Store) -> None:
    owner = uuid.uuid4()
    await storage.create(Record(user_id=owner), session_id="x")
    assert await storage.get_user_sessions(owner) == ["x"]
    assert await storage.get_user_sessions(str(owner)) == ["x"]


async def test_delete_updates_user_index(storage: Store) -> None:
    await storage.create(Record(user_id=7), session_id="a")
    await storage.create(Record(user_id=7), session_id="b")
    assert await storage.delete("a", user_id=7) is True
    assert await storage.get_user_sessions(7) == ["b"]
    assert await storage.delete("b") is True
    assert await storage.get_user_sessions(7) == []


async def test_remove_from_user_index_after_loss(storage: Store) -> None:
    await storage.create(Record(user_id=5), session_id="s")
    await storage.get_and_delete("s", Record)
    await storage.remove_from_user_index(5, "s")
    assert await storage.get_user_sessions(5) == []


async def test_get_many_in_order(storage: Store) -> None:
    await storage.create(Record(note="one"), session_id="1")
    await storage.create(Record(note="two"), session_id="2")
    values = await storage.get_many(["2", "missing", "1"], Record)
    assert values == [Record(note="two"), None, Record(note="one")]
    assert await storage.get_many([], Record) == []


async def test_take_user_values_pairs_ids_and_values(storage: Store) -> None:
    for number in range(30):
        await storage.create(Record(user_id=6, counter=number), session_id=f"t{number}")
    await storage.create(Record(user_id=7, counter=99), session_id="other")
    removed = await storage.take_user_values(6, Record, keep=["t0"])
    assert sorted((session_id, value.counter) for session_id, value in removed) == sorted(
        (f"t{number}", number) for number in range(1, 30)
    )
    assert await storage.get_user_sessions(6) == ["t0"]
    assert await storage.get("other", Record) == Record(user_id=7, counter=99)


async def test_delete_many_counts_and_unindexes(storage: Store) -> None:
    for session_id in ("a", "b", "c"):
        await storage.create(Record(user_id=4), session_id=session_id)
    assert await storage.delete_many(["a", "b", "missing"], user_id=4) == 2
    assert await storage.get_user_sessions(4) == ["c"]
    assert await storage.delete_many(["c"]) == 1
    assert await storage.get_user_sessions(4) == []
    assert await storage.exists("c") is False


async def test_delete_pattern_counts(storage: Store) -> None:
    await storage.create(Record(), session_id="p1")
    await storage.create(Record(), session_id="p2")
    await storage.create(Record(), session_id="q1")
    assert await storage.delete_pattern(f"{storage.prefix}p") == 2
    assert await storage.exists("p1") is False
    assert await storage.exists("q1") is True


async def test_scan_keys_glob(storage: Store) -> None:
    await storage.create(Record(), session_id="abc")
    prefix = storage.prefix
    assert await storage.scan_keys(f"{prefix}ab?") == [f"{prefix}abc"]
    assert await storage.scan_keys() == [f"{prefix}abc"]
    assert await storage.scan_keys(f"{prefix}zz*") == []


async def test_set_if_absent_first_wins(storage: Store) -> None:
    assert await storage.set_if_absent("once", Record(note="first")) is True
    assert await storage.set_if_absent("once", Record(note="second")) is False
    assert await storage.get("once", Record) == Record(note="first")


async def test_set_if_absent_concurrent(storage: Store) -> None:
    results = await asyncio.gather(
        *(storage.set_if_absent("race", Record(counter=n)) for n in range(20))
    )
    assert results.count(True) == 1


async def test_set_if_absent_lists_owner(storage: Store) -> None:
    assert await storage.set_if_absent("claimed", Record(user_id=5, note="mine")) is True
    assert await storage.get_user_sessions(5) == ["claimed"]

    taken_values = await storage.take_user_values(5, Record)

    assert taken_values == [("claimed", Record(user_id=5, note="mine"))]
    assert await storage.get("claimed", Record) is None


async def test_failed_claim_lists_nothing(storage: Store) -> None:
    assert await storage.set_if_absent("held", Record(user_id=5)) is True
    assert await storage.set_if_absent("held", Record(user_id=6)) is False
    assert await storage.get_user_sessions(6) == []
    assert await storage.get_user_sessions(5) == ["held"]


async def test_set_if_absent_over_expired(storage: Store) -> None:
    await storage.create(Record(note="stale"), session_id="reuse", expiration=1)
    await asyncio.sleep(1.2)
    assert await storage.set_if_absent("reuse", Record(note="fresh")) is True
    assert await storage.get("reuse", Record) == Record(note="fresh")


async def test_get_and_delete_once(storage: Store) -> None:
    await storage.create(Record(note="token"), session_id="t")
    assert await storage.get_and_delete("t", Record) == Record(note="token")
    assert await storage.get_and_delete("t", Record) is None
    assert await storage.exists("t") is False


async def test_get_and_delete_concurrent(storage: Store) -> None:
    await storage.create(Record(note="token"), session_id="t")
    results = await asyncio.gather(*(storage.get_and_delete("t", Record) for _ in range(20)))
    assert sum(result is not None for result in results) == 1


async def test_modify_applies_change(storage: Store) -> None:
    await storage.create(Record(user_id=2, counter=1), session_id="m")

    def bump(record: Record) -> None:
        record.counter += 1

    changed = await storage.modify("m", Record, bump)
    assert changed == Record(user_id=2, counter=2)
    assert await storage.get("m", Record) == Record(user_id=2, counter=2)
    assert await storage.modify("missing", Record, bump) is None


async def test_modify_keeps_concurrent_changes(storage: Store) -> None:
    await storage.create(Record(counter=0), session_id="m")

    def bump(record: Record) -> None:
        record.counter += 1

    await asyncio.gather(*(storage.modify("m", Record, bump) for _ in range(10)))
    stored = await storage.get("m", Record)
    assert stored is not None
    assert stored.counter == 10


async def test_capped_list_newest_first(storage: Store) -> None:
    for number in range(5):
        await storage.push_capped("log", Record(counter=number), cap=3)
    entries = await storage.read_capped("log", Record)
    assert [entry.counter for entry in entries] == [4, 3, 2]


async def test_capped_list_absent_is_empty(storage: Store) -> None:
    assert await storage.read_capped("nothing", Record) == []


async def test_capped_list_delete_and_expiry(storage: Store) -> None:
    await storage.push_capped("gone", Record(counter=1), cap=5)
    assert await storage.exists("gone") is True
    assert await storage.delete("gone") is True
    assert await storage.read_capped("gone", Record) == []

    await storage.push_capped("short", Record(counter=1), cap=5, expiration=1)
    await asyncio.sleep(1.2)
    assert await storage.read_capped("short", Record) == []
    assert await storage.exists("short") is False


async def test_capped_list_concurrent_pushes_land(storage: Store) -> None:
    await asyncio.gather(
        *(storage.push_capped("busy", Record(counter=n), cap=50) for n in range(10))
    )
    entries = await storage.read_capped("busy", Record)
    assert sorted(entry.counter for entry in entries) == list(range(10))


async def test_capped_list_rejects_zero_cap(storage: Store) -> None:
    with pytest.raises(ValueError, match="cap"):
        await storage.push_capped("log", Record(), cap=0)
