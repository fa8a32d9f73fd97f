"""Stored shapes: defaults, time zones and the User-Agent cap."""

from __future__ import annotations

from datetime import timezone

from crudauth.constants import USER_AGENT_MAX_LENGTH
from crudauth.transports.session.schemas import CSRFToken, SessionData, UserAgentInfo


def test_session_data_defaults() -> None:
    record = SessionData(user_id=7)
    assert record.ip_address == ""
    assert record.metadata == {}
    assert record.token_version is None
    assert record.created_at.tzinfo is timezone.utc
    assert record.last_activity.tzinfo is timezone.utc
    assert len(record.session_id) == 36


def test_session_data_truncates_user_agent() -> None:
    record = SessionData(user_id=1, user_agent="x" * 10_000)
    assert len(record.user_agent) == USER_AGENT_MAX_LENGTH


def test_session_data_json_round_trip() -> None:
    record = SessionData(user_id="u-1", metadata={"remember_me": True}, token_version=3)
    restored = SessionData.model_validate_json(record.model_dump_json())
    assert restored == record


def test_csrf_token_fields() -> None:
    record = SessionData(user_id=1)
    token = CSRFToken(token="k", session_id="s", expiry=record.created_at)
    assert token.model_dump().keys() == {"token", "session_id", "expiry"}


def test_user_agent_info_defaults() -> None:
    info = UserAgentInfo()
    assert info.browser == "Unknown"
    assert info.os == "Unknown"
    assert info.device == "Unknown"
    assert info.browser_version == ""
    assert info.os_version == ""
    assert not (info.is_mobile or info.is_tablet or info.is_pc or info.is_bot)
