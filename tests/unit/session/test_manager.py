"""SessionManager: keys, creation, one-read validation, expiry, caps and store failures."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from crudauth.exceptions import StoreUnavailableError
from crudauth.transports.session.manager import SessionManager
from crudauth.transports.session.schemas import SessionData

SECRET = "unit-test-secret"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


def hmac_hex(message: bytes) -> str:
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


async def stored(manager: SessionManager, session_id: str) -> SessionData | None:
    return await manager.storage.inner.get(  # type: ignore[attr-defined, no-any-return]
        manager.keys.session_key(session_id), SessionData
    )


async def test_create_stores_under_hmac_key(manager: Any, make_request: Any) -> None:
    session_id, csrf_token = await manager.create_session(
        make_request(headers={"User-Agent": CHROME_MAC}), 7
    )
    key = hmac_hex(b"session:" + session_id.encode())
    record = await manager.storage.inner.get(key, SessionData)
    assert record is not None
    assert record.session_id == key
    assert record.session_id != session_id
    assert record.user_id == 7
    assert record.ip_address == "203.0.113.9"
    assert record.device_info["browser"] == "Chrome"
    assert record.metadata["csrf_token_id"] == hmac_hex(b"csrf:" + csrf_token.encode())
    assert len(csrf_token) == 64
    assert manager.session_handle(session_id) == key


async def test_create_truncates_user_agent(manager: Any, make_request: Any) -> None:
    request = make_request(headers={"User-Agent": "a" * 5000})
    session_id, _ = await manager.create_session(request, 1)
    record = await stored(manager, session_id)
    assert record is not None
    assert len(record.user_agent) == 512


async def test_handle_without_key_secret_is_sha256(make_store: Any, make_request: Any) -> None:
    manager = SessionManager(make_store("session:"), csrf_storage=make_store("csrf:"))
    session_id, _ = await manager.create_session(make_request(), 1)
    assert manager.keys.session_key(session_id) == session_id
    assert manager.session_handle(session_id) == hashlib.sha256(session_id.encode()).hexdigest()


async def test_validate_within_interval_is_one_read(manager: Any, make_request: Any) -> None:
    session_id, _ = await manager.create_session(make_request(), 1)
    manager.storage.calls.clear()
    manager.csrf_storage.calls.clear()
    for _ in range(5):
        assert await manager.validate_session(session_id) is not None
    assert manager.storage.names() == ["get"] * 5
    assert manager.csrf_storage.calls == []


async def test_validate_after_interval_writes_once(
    manager: Any, make_request: Any, clock: Any
) -> None:
    session_id, _ = await manager.create_session(make_request(), 1)
    clock.advance(seconds=61)
    manager.storage.calls.clear()
    manager.csrf_storage.calls.clear()
    record = await manager.validate_session(session_id)
    assert record is not None
    assert record.last_activity == clock.now
    assert manager.storage.names() == ["get", "modify"]
    assert manager.storage.calls[1][1][2] == 1800
    assert manager.csrf_storage.names() == ["extend"]
    # The CSRF token gets the activity interval as slack over the session window.
    assert manager.csrf_storage.calls[0][1][1] == 1800 + 60
    manager.storage.calls.clear()
    assert await manager.validate_session(session_id) is not None
    assert manager.storage.names() == ["get"]


async def test_validate_zero_interval_writes_every_time(make_store: Any, make_request: Any) -> None:
    manager = SessionManager(
        make_store("session:"), csrf_storage=make_store("csrf:"), activity_interval_seconds=0
    )
    session_id, _ = await manager.create_session(make_request(), 1)
    manager.storage.calls.clear()
    await manager.validate_session(session_id)
    await manager.validate_session(session_id)
    assert manager.storage.names() == ["get", "modify", "get", "modify"]


async def test_validate_without_update_never_writes(
    manager: Any, make_request: Any, clock: Any
) -> None:
    session_id, _ = await manager.create_session(make_request(), 1)
    clock.advance(seconds=600)
    manager.storage.calls.clear()
    assert await manager.validate_session(session_id, update_activity=False) is not None
    assert manager.storage.names() == ["get"]


async def test_touch_never_recreates_revoked_session(
    manager: Any, make_request: Any, clock: Any
) -> None:
    session_id, _ = await manager.create_session(make_request(), 1)
    store = manager.storage
    original_get = store.get

    async def get_then_revoke(key: str, model: Any) -> Any:
        value = await original_get(key, model)
        await store.inner.delete(key)
        return value

    store.get = get_then_revoke
    clock.advance(seconds=120)
    assert await manager.validate_session(session_id) is None
    assert not await store.inner.exists(manager.keys.session_key(session_id))


async def test_idle_session_is_ended_on_read(manager: Any, make_request: Any, clock: Any) -> None:
    session_id, csrf_token = await manager.create_session(make_request(), 1)
    clock.advance(minutes=30, seconds=1)
    assert await manager.validate_session(session_id) is None
    assert await stored(manager, session_id) is None
    assert not await manager.csrf_storage.inner.exists(manager.keys.csrf_key(csrf_token))


async def test_idle_window_boundary(manager: Any, make_request: Any, clock: Any) -> None:
    session_id, _ = await manager.create_session(make_request(), 1)
    clock.advance(minutes=30)
    assert await manager.validate_session(session_id, update_activity=False) is not None
    clock.advance(seconds=1)
    assert await manager.validate_session(session_id, update_activity=False) is None


async def test_remember_me_uses_longer_window(manager: Any, make_request: Any, clock: Any) -> None:
    session_id, _ = await manager.create_session(make_request(), 1, metadata={"remember_me": True})
    assert manager.timeout_seconds_for({"remember_me": True}) == 30 * 86400
    # The session cap is checked again after the write, so the create is not the last call.
    assert (
        "create",
        (manager.keys.session_key(session_id), 30 * 86400),
    ) in manager.storage.calls
    clock.advance(days=2)
    assert await manager.validate_session(session_id) is not None


async def test_absolute_timeout_ends_active_session(
    make_store: Any, make_request: Any, clock: Any
) -> None:
    manager = SessionManager(
        make_store("session:"), csrf_storage=make_store("csrf:"), absolute_timeout_hours=1
    )
    manager._now = lambda: clock.now  # type: ignore[method-assign]
    session_id, _ = await manager.create_session(make_request(), 1)
    for _ in range(3):
        clock.advance(minutes=20)
        assert await manager.validate_session(session_id) is not None
    clock.advance(minutes=1)
    assert await manager.validate_session(session_id) is None


async def test_login_replaces_presented_session(manager: Any, make_request: Any) -> None:
    other_id, _ = await manager.create_session(make_request(), "bob")
    cookie_request = make_request(cookies={"session_id": other_id})
    new_id, _ = await manager.create_session(cookie_request, "alice")
    assert new_id != other_id
    assert await manager.validate_session(other_id) is None
    assert await manager.validate_session(new_id) is not None


async def test_cap_evicts_least_recently_active(
    make_store: Any, make_request: Any, clock: Any
) -> None:
    manager = SessionManager(
        make_store("session:"), csrf_storage=make_store("csrf:"), max_sessions_per_user=2
    )
    manager._now = lambda: clock.now  # type: ignore[method-assign]
    first, _ = await manager.create_session(make_request(), 1)
    clock.advance(seconds=5)
    second, _ = await manager.create_session(make_request(), 1)
    clock.advance(minutes=2)
    assert await manager.validate_session(first) is not None
    third, _ = await manager.create_session(make_request(), 1)
    assert len(await manager.list_for_user(1)) == 2
    assert await manager.validate_session(second) is None
    assert await manager.validate_session(first) is not None
    assert await manager.validate_session(third) is not None


async def test_list_costs_two_round_trips(manager: Any, make_request: Any) -> None:
    ids = [(await manager.create_session(make_request(), 5))[0] for _ in range(4)]
    manager.storage.calls.clear()
    rows = await manager.list_for_user(5, current_session_id=ids[1])
    assert manager.storage.names() == ["get_user_sessions", "get_many"]
    assert len(rows) == 4
    assert [row["current"] for row in rows].count(True) == 1
    current = next(row for row in rows if row["current"])
    assert current["id"] == manager.session_handle(ids[1])
    assert not {row["id"] for row in rows} & set(ids)
    assert set(rows[0]) == {
        "id",
        "kind",
        "device",
        "ip",
        "created_at",
        "last_activity",
        "expires_at",
        "current",
    }
    assert rows[0]["kind"] == "session"


async def test_list_prunes_stale_index_entries(manager: Any, make_request: Any) -> None:
    live_id, _ = await manager.create_session(make_request(), 5)
    inner = manager.storage.inner
    indexed = inner.get_user_sessions

    async def with_stale_entry(user_id: Any) -> list[str]:
        # A Redis index keeps an entry after its record's TTL ran out.
        return [*await indexed(user_id), "stale-key"]

    inner.get_user_sessions = with_stale_entry
    manager.storage.calls.clear()
    rows = await manager.list_for_user(5)
    assert [row["id"] for row in rows] == [manager.session_handle(live_id)]
    # Every stale entry goes in one batched call, not one call per entry.
    assert ("delete_many", (("stale-key",),)) in manager.storage.calls


async def test_list_ends_idle_records(manager: Any, make_request: Any, clock: Any) -> None:
    await manager.create_session(make_request(), 5)
    clock.advance(hours=1)
    assert await manager.list_for_user(5) == []
    assert await manager.storage.inner.get_user_sessions(5) == []


async def test_revoke_all_uses_batched_deletes(manager: Any, make_request: Any) -> None:
    ids = [(await manager.create_session(make_request(), 5))[0] for _ in range(4)]
    manager.storage.calls.clear()
    manager.csrf_storage.calls.clear()
    assert await manager.revoke_all(5, exclude=ids[0]) == 3
    assert manager.storage.names() == ["get_user_sessions", "get_many", "delete_many"]
    assert manager.csrf_storage.names() == ["delete_many"]
    assert await manager.validate_session(ids[0]) is not None
    for session_id in ids[1:]:
        assert await manager.validate_session(session_id) is None


async def test_terminate_all_counts_only_live(manager: Any, make_request: Any) -> None:
    await manager.create_session(make_request(), 5)
    await manager.create_session(make_request(), 6)
    assert await manager.terminate_all_user_sessions(5) == 1
    assert await manager.terminate_all_user_sessions(5) == 0
    assert len(await manager.list_for_user(6)) == 1


async def test_revoke_by_handle_only_own(manager: Any, make_request: Any) -> None:
    alice, _ = await manager.create_session(make_request(), 1)
    bob, _ = await manager.create_session(make_request(), 2)
    assert not await manager.revoke_by_handle(manager.session_handle(alice), 2)
    assert await manager.validate_session(alice) is not None
    assert not await manager.revoke_by_handle("nope", 1)
    assert not await manager.revoke_by_handle("é" * 64, 1)
    assert not await manager.revoke_by_handle(alice, 1)
    assert await manager.revoke_by_handle(manager.session_handle(alice), 1)
    assert await manager.validate_session(alice) is None
    assert await manager.validate_session(bob) is not None


async def test_revoke_compares_owner_as_string(manager: Any, make_request: Any) -> None:
    session_id, _ = await manager.create_session(make_request(), 7)
    assert not await manager.revoke(session_id, owner_id=8)
    assert await manager.revoke(session_id, owner_id="7")
    assert not await manager.revoke(session_id, owner_id="7")


async def test_terminate_deletes_csrf_token(manager: Any, make_request: Any) -> None:
    session_id, csrf_token = await manager.create_session(make_request(), 1)
    assert await manager.terminate_session(session_id)
    assert not await manager.terminate_session(session_id)
    assert not await manager.csrf_storage.inner.exists(manager.keys.csrf_key(csrf_token))


async def test_set_token_version_keeps_expiry(manager: Any, make_request: Any) -> None:
    session_id, _ = await manager.create_session(make_request(), 1, token_version=0)
    manager.storage.calls.clear()
    assert await manager.set_token_version(session_id, 4)
    assert manager.storage.calls[0][0] == "modify"
    assert manager.storage.calls[0][1][1] is False
    record = await manager.get_session(session_id)
    assert record is not None
    assert record.token_version == 4
    assert not await manager.set_token_version("missing", 1)


async def test_unindexed_store_degrades(manager: Any, make_request: Any) -> None:
    manager.storage.indexed = False
    session_id, _ = await manager.create_session(make_request(), 1)
    assert await manager.list_for_user(1) == []
    assert await manager.revoke_all(1) == 0
    assert not await manager.revoke_by_handle(manager.session_handle(session_id), 1)
    assert await manager.validate_session(session_id) is not None


async def test_cleanup_is_throttled_and_scoped(manager: Any, make_request: Any, clock: Any) -> None:
    session_id, _ = await manager.create_session(make_request(), 1)
    clock.advance(hours=1)
    assert await manager.cleanup_expired_sessions() == 1
    assert ("scan_keys", ("session:*",)) in manager.storage.calls
    assert await manager.get_session(session_id) is None
    manager.storage.calls.clear()
    assert await manager.cleanup_expired_sessions() == 0
    assert manager.storage.calls == []
    assert await manager.cleanup_expired_sessions(force=True) == 0


async def test_store_error_on_read_propagates(manager: Any, make_request: Any) -> None:
    session_id, _ = await manager.create_session(make_request(), 1)
    manager.storage.fail_on.add("get")
    with pytest.raises(StoreUnavailableError):
        await manager.validate_session(session_id)


async def test_failed_session_write_removes_csrf_token(manager: Any, make_request: Any) -> None:
    manager.storage.fail_on.add("create")
    with pytest.raises(StoreUnavailableError):
        await manager.create_session(make_request(), 1)
    assert manager.csrf_storage.inner._values == {}
    assert manager.storage.inner._values == {}


async def test_failed_csrf_write_creates_nothing(manager: Any, make_request: Any) -> None:
    manager.csrf_storage.fail_on.add("create")
    with pytest.raises(StoreUnavailableError):
        await manager.create_session(make_request(), 1)
    assert manager.storage.inner._values == {}


async def test_csrf_disabled_returns_empty_token(make_store: Any, make_request: Any) -> None:
    manager = SessionManager(make_store("session:"))
    session_id, csrf_token = await manager.create_session(make_request(), 1)
    assert csrf_token == ""
    record = await manager.get_session(session_id)
    assert record is not None
    assert "csrf_token_id" not in record.metadata


async def test_track_login_attempt_without_policy(manager: Any) -> None:
    assert await manager.track_login_attempt("1.2.3.4", "alice") == (True, None, 0)


def test_constructor_rejects_bad_numbers(make_store: Any) -> None:
    with pytest.raises(ValueError, match="max_sessions_per_user"):
        SessionManager(make_store(), max_sessions_per_user=0)
    with pytest.raises(ValueError, match="activity_interval_seconds"):
        SessionManager(make_store(), activity_interval_seconds=-1)
