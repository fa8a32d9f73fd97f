"""Sessions and CSRF tokens stored under a retired SECRET_KEY are found and moved."""

from __future__ import annotations

import asyncio
from typing import Any

from crudauth.transports.session.manager import SessionManager
from crudauth.transports.session.schemas import CSRFToken, SessionData
from crudauth.utils.key_rotation import KeyRing

OLD = "old-unit-secret"
NEW = "new-unit-secret"


def rotated(manager: SessionManager, previous: tuple[str, ...] = (OLD,)) -> SessionManager:
    """Return a manager over the same stores that signs with ``NEW``."""
    return SessionManager(
        manager.storage,
        csrf_storage=manager.csrf_storage,
        key_secret=NEW,
        previous_key_secrets=previous,
    )


def old_manager(stores: Any) -> SessionManager:
    sessions, csrf = stores
    return SessionManager(sessions, csrf_storage=csrf, key_secret=OLD)


async def test_current_key_hit_costs_one_read(stores: Any, make_request: Any) -> None:
    manager = rotated(old_manager(stores))
    session_id, _ = await manager.create_session(make_request(), 1)
    stores[0].calls.clear()
    assert await manager.validate_session(session_id, update_activity=False) is not None
    assert stores[0].names() == ["get"]


async def test_old_session_moves_to_current_key(stores: Any, make_request: Any) -> None:
    before = old_manager(stores)
    session_id, csrf_token = await before.create_session(make_request(), 1)
    after = rotated(before)

    record = await after.validate_session(session_id)
    assert record is not None
    new_key = after.keys.session_key(session_id)
    old_key = before.keys.session_key(session_id)
    assert record.session_id == new_key
    assert await stores[0].inner.get(old_key, SessionData) is None
    assert await stores[0].inner.get(new_key, SessionData) is not None
    assert await stores[0].inner.get_user_sessions(1) == [new_key]
    assert after.session_handle(session_id) == new_key

    csrf_record = await stores[1].inner.get(record.metadata["csrf_token_id"], CSRFToken)
    assert csrf_record is not None
    assert csrf_record.session_id == new_key
    assert after.csrf_matches_session(record, csrf_token) is True
    assert await after.validate_csrf_token(session_id, csrf_token) is True


async def test_csrf_rekey_moves_token(stores: Any, make_request: Any) -> None:
    before = old_manager(stores)
    session_id, csrf_token = await before.create_session(make_request(), 1)
    after = rotated(before)
    record = await after.validate_session(session_id)
    assert record is not None
    old_csrf_key = record.metadata["csrf_token_id"]

    await after.rekey_csrf_token(record, csrf_token)

    moved = await after.get_session(session_id)
    assert moved is not None
    assert moved.metadata["csrf_token_id"] == after.keys.csrf_key(csrf_token)
    assert await stores[1].inner.get(old_csrf_key, CSRFToken) is None
    assert after.csrf_matches_session(moved, csrf_token) is True
    assert await after.validate_csrf_token(session_id, csrf_token) is True


async def test_csrf_rekey_noop_when_current(stores: Any, make_request: Any) -> None:
    manager = rotated(old_manager(stores))
    session_id, csrf_token = await manager.create_session(make_request(), 1)
    record = await manager.get_session(session_id)
    assert record is not None
    stores[0].calls.clear()
    stores[1].calls.clear()
    await manager.rekey_csrf_token(record, csrf_token)
    assert stores[0].calls == []
    assert stores[1].calls == []


async def test_wrong_csrf_token_still_rejected(stores: Any, make_request: Any) -> None:
    before = old_manager(stores)
    session_id, _ = await before.create_session(make_request(), 1)
    after = rotated(before)
    record = await after.validate_session(session_id)
    assert record is not None
    assert after.csrf_matches_session(record, "f" * 64) is False


async def test_racing_requests_both_find_session(stores: Any, make_request: Any) -> None:
    before = old_manager(stores)
    session_id, _ = await before.create_session(make_request(), 1)
    first, second = rotated(before), rotated(before)

    results = await asyncio.gather(
        first.validate_session(session_id, update_activity=False),
        second.validate_session(session_id, update_activity=False),
    )
    assert all(result is not None for result in results)
    assert await stores[0].inner.get_user_sessions(1) == [first.keys.session_key(session_id)]


async def test_no_previous_key_means_signed_out(stores: Any, make_request: Any) -> None:
    before = old_manager(stores)
    session_id, _ = await before.create_session(make_request(), 1)
    assert await rotated(before, previous=()).validate_session(session_id) is None


async def test_logout_ends_old_session(stores: Any, make_request: Any) -> None:
    before = old_manager(stores)
    session_id, _ = await before.create_session(make_request(), 1)
    after = rotated(before)
    assert await after.terminate_session(session_id) is True
    assert await after.validate_session(session_id) is None
    assert await stores[0].inner.get_user_sessions(1) == []


async def test_revoke_ends_old_session(stores: Any, make_request: Any) -> None:
    before = old_manager(stores)
    session_id, _ = await before.create_session(make_request(), 1)
    after = rotated(before)
    assert await after.revoke(session_id, owner_id=2) is False
    assert await after.revoke(session_id, owner_id=1) is True
    assert await after.validate_session(session_id) is None
    assert await stores[0].inner.get_user_sessions(1) == []


def test_key_ring_matches_every_secret() -> None:
    ring = KeyRing(NEW, [OLD])
    old_key = KeyRing(OLD).derive(b"ctx:", "value")
    assert ring.matches(b"ctx:", "value", old_key) is True
    assert ring.matches(b"ctx:", "value", ring.derive(b"ctx:", "value")) is True
    assert ring.matches(b"ctx:", "other", old_key) is False
    assert ring.derive_previous(b"ctx:", "value") == [old_key]


def test_key_ring_derives_surrogate_values() -> None:
    ring = KeyRing(NEW, [OLD])
    for value in ["\ud800", "\udfff", "\udc80", "a\ud83d"]:
        key = ring.derive(b"ctx:", value)
        assert len(key) == 64, value
        assert ring.matches(b"ctx:", value, key) is True, value
        assert ring.matches(b"ctx:", value, "\ud800") is False, value
        assert ring.derive_previous(b"ctx:", value) == [KeyRing(OLD).derive(b"ctx:", value)]
    assert ring.derive(b"ctx:", "\ud800") != ring.derive(b"ctx:", "\ud801")
