"""CSRF tokens: the record-based check, the store-based check and rotation."""

from __future__ import annotations

from typing import Any

from crudauth.transports.session.manager import SessionManager


async def test_matches_current_token(manager: Any, make_request: Any) -> None:
    session_id, token = await manager.create_session(make_request(), 1)
    record = await manager.get_session(session_id)
    assert manager.csrf_matches_session(record, token)
    assert not manager.csrf_matches_session(record, "")
    assert not manager.csrf_matches_session(record, None)
    assert not manager.csrf_matches_session(record, "0" * 64)
    assert not manager.csrf_matches_session(record, "é")


async def test_token_of_other_session_rejected(manager: Any, make_request: Any) -> None:
    first, _ = await manager.create_session(make_request(), 1)
    second, second_token = await manager.create_session(make_request(), 1)
    first_record = await manager.get_session(first)
    assert not manager.csrf_matches_session(first_record, second_token)
    assert not await manager.validate_csrf_token(first, second_token)
    assert await manager.validate_csrf_token(second, second_token)


async def test_validate_reads_csrf_store(manager: Any, make_request: Any) -> None:
    session_id, token = await manager.create_session(make_request(), 1)
    manager.csrf_storage.calls.clear()
    assert await manager.validate_csrf_token(session_id, token)
    assert manager.csrf_storage.names() == ["get"]
    assert not await manager.validate_csrf_token("", token)
    assert not await manager.validate_csrf_token(session_id, "")
    await manager.csrf_storage.inner.delete(manager.keys.csrf_key(token))
    assert not await manager.validate_csrf_token(session_id, token)


async def test_csrf_ttl_has_activity_slack(manager: Any, make_request: Any) -> None:
    await manager.create_session(make_request(), 1)
    create_call = manager.csrf_storage.calls[0]
    assert create_call[0] == "create"
    assert create_call[1][1] == 1800 + 60


async def test_regenerate_rotates(manager: Any, make_request: Any) -> None:
    session_id, old_token = await manager.create_session(make_request(), 1)
    new_token = await manager.regenerate_csrf_token(session_id)
    assert new_token
    assert new_token != old_token
    assert not await manager.validate_csrf_token(session_id, old_token)
    assert await manager.validate_csrf_token(session_id, new_token)
    record = await manager.get_session(session_id)
    assert record.metadata["csrf_token_id"] == manager.keys.csrf_key(new_token)
    assert manager.csrf_matches_session(record, new_token)
    assert not manager.csrf_matches_session(record, old_token)


async def test_regenerate_missing_session(manager: Any) -> None:
    assert await manager.regenerate_csrf_token("missing") == ""
    assert manager.csrf_storage.calls == []


async def test_regenerate_when_session_vanishes(manager: Any, make_request: Any) -> None:
    session_id, _ = await manager.create_session(make_request(), 1)
    store = manager.storage

    async def vanished(*_: Any, **__: Any) -> None:
        return None

    store.modify = vanished
    assert await manager.regenerate_csrf_token(session_id) == ""
    # Only the original token is left: the new one was deleted again.
    assert len(manager.csrf_storage.inner._values) == 1


async def test_csrf_disabled(make_store: Any, make_request: Any) -> None:
    manager = SessionManager(make_store())
    session_id, _ = await manager.create_session(make_request(), 1)
    record = await manager.get_session(session_id)
    assert manager.csrf_matches_session(record, "")
    assert await manager.validate_csrf_token(session_id, "anything")
    assert await manager.regenerate_csrf_token(session_id) == ""
