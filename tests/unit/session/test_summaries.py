"""Session summaries: their text, parsing, and the expiry rule on both time scales."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crudauth.transports.session.constants import (
    CSRF_TOKEN_ID_META_KEY,
    REASON_ABSOLUTE_TIMEOUT,
    REASON_TIMEOUT,
    REMEMBER_ME_META_KEY,
)
from crudauth.transports.session.records import EndedRecord
from crudauth.transports.session.schemas import SessionData
from crudauth.transports.session.summaries import (
    SessionSummary,
    epoch_microseconds,
    expiry_reason,
    parse_session_summaries,
    session_summary,
)

SIGN_IN = datetime(2026, 12, 5, 9, 30, 0, 123456, tzinfo=timezone.utc)
SEEN = SIGN_IN + timedelta(minutes=5)


def test_epoch_microseconds_exact() -> None:
    assert epoch_microseconds(datetime(1970, 1, 1, tzinfo=timezone.utc)) == 0
    assert epoch_microseconds(SIGN_IN) == 1_796_463_000_123_456
    assert epoch_microseconds(SIGN_IN.replace(tzinfo=None)) == 1_796_463_000_123_456
    plus_two = SIGN_IN.astimezone(timezone(timedelta(hours=2)))
    assert epoch_microseconds(plus_two) == 1_796_463_000_123_456


def test_summary_text_and_round_trip() -> None:
    metadata = {CSRF_TOKEN_ID_META_KEY: "csrf-key", REMEMBER_ME_META_KEY: True}

    text = session_summary(SIGN_IN, SEEN, metadata)

    assert text == '[1796463000123456,1796463300123456,true,"csrf-key"]'
    assert parse_session_summaries([text]) == [
        SessionSummary(1_796_463_000_123_456, 1_796_463_300_123_456, True, "csrf-key")
    ]


def test_summary_without_csrf_or_remember() -> None:
    text = session_summary(SIGN_IN, SEEN, {CSRF_TOKEN_ID_META_KEY: 7})

    assert parse_session_summaries([text])[0][2:] == (False, "")


def test_records_summarize_alike() -> None:
    metadata = {CSRF_TOKEN_ID_META_KEY: "k", "login_type": "password"}
    full = SessionData(user_id=3, created_at=SIGN_IN, last_activity=SEEN, metadata=metadata)
    ended = EndedRecord(user_id=3, created_at=SIGN_IN, last_activity=SEEN, metadata=metadata)

    assert full.index_summary() == ended.index_summary()
    assert full.index_summary() == session_summary(SIGN_IN, SEEN, metadata)


def test_parse_keeps_order() -> None:
    texts = [session_summary(SIGN_IN, SEEN + timedelta(seconds=n), {}) for n in range(5)]

    parsed = parse_session_summaries(texts)

    assert [summary.last_activity for summary in parsed] == [
        epoch_microseconds(SEEN) + n * 1_000_000 for n in range(5)
    ]
    assert parse_session_summaries([]) == []


def test_parse_marks_two_summaries_in_one() -> None:
    one = session_summary(SIGN_IN, SEEN, {})

    parsed = parse_session_summaries([f"{one},{one}", one, one])

    assert parsed[0] is None
    assert parsed[1:] == parse_session_summaries([one, one])


@pytest.mark.parametrize("text", ["", "not json", "[1,2]", "{}", '[1,2,true,"\ufffd"'])
def test_parse_marks_unreadable_summary(text: str) -> None:
    good = session_summary(SIGN_IN, SEEN, {CSRF_TOKEN_ID_META_KEY: "k"})

    parsed = parse_session_summaries([good, text, good])

    assert parsed[1] is None
    assert parsed[0] == parsed[2]
    assert parsed[0] is not None


@pytest.mark.parametrize(
    ("last_activity", "created_at", "remembered", "expected"),
    [
        (SEEN, SIGN_IN, False, None),
        (SEEN - timedelta(hours=2), SIGN_IN, False, REASON_TIMEOUT),
        (SEEN - timedelta(hours=2), SIGN_IN, True, None),
        (SEEN - timedelta(days=40), SIGN_IN, True, REASON_TIMEOUT),
        (SEEN, SIGN_IN - timedelta(days=2), False, REASON_ABSOLUTE_TIMEOUT),
    ],
)
def test_expiry_rule_same_on_both_scales(
    last_activity: datetime, created_at: datetime, remembered: bool, expected: str | None
) -> None:
    now = SEEN + timedelta(seconds=1)
    idle, long_idle, lifetime = timedelta(hours=1), timedelta(days=30), timedelta(days=1)

    as_datetimes = expiry_reason(
        last_activity,
        created_at,
        remembered,
        idle_cutoff=now - idle,
        remembered_cutoff=now - long_idle,
        created_cutoff=now - lifetime,
    )
    as_microseconds = expiry_reason(
        epoch_microseconds(last_activity),
        epoch_microseconds(created_at),
        remembered,
        idle_cutoff=epoch_microseconds(now - idle),
        remembered_cutoff=epoch_microseconds(now - long_idle),
        created_cutoff=epoch_microseconds(now - lifetime),
    )

    assert as_datetimes == expected
    assert as_microseconds == expected
