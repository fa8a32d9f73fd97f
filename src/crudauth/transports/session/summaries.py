"""Session summaries: the fields that ending a session needs, kept in the store's index.

A sign-out of every device ends all of a user's sessions at once. For each one it
needs only the sign-in time, the last activity, the remember-me flag (to tell a live
session from a timed-out one) and the key of its CSRF token. ``session_summary``
writes those four as a short JSON array, which the store keeps next to the session's
id in its owner's index, so a bulk take reads no session record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple, TypeVar

from pydantic import TypeAdapter, ValidationError

from crudauth.transports.session.constants import (
    CSRF_TOKEN_ID_META_KEY,
    REASON_ABSOLUTE_TIMEOUT,
    REASON_TIMEOUT,
    REMEMBER_ME_META_KEY,
)

__all__ = [
    "SessionSummary",
    "epoch_microseconds",
    "expiry_reason",
    "parse_session_summaries",
    "session_summary",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)

# A moment as a datetime, or as whole microseconds since the Unix epoch.
Instant = TypeVar("Instant", datetime, int)


class SessionSummary(NamedTuple):
    """The parsed summary of one session.

    Attributes:
        created_at: Sign-in time, in microseconds since the Unix epoch.
        last_activity: Latest recorded activity, in microseconds since the epoch.
        remembered: Whether the session was created with remember-me.
        csrf_key: Storage key of the session's CSRF token, or ``""`` for none.
    """

    created_at: int
    last_activity: int
    remembered: bool
    csrf_key: str


_SUMMARY = TypeAdapter(SessionSummary)
_SUMMARIES = TypeAdapter(list[SessionSummary])


def epoch_microseconds(moment: datetime) -> int:
    """Return ``moment`` as whole microseconds since the Unix epoch.

    Args:
        moment: A time; a naive one is taken as UTC, as stored sessions are.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // _MICROSECOND


def session_summary(
    created_at: datetime, last_activity: datetime, metadata: Mapping[str, Any]
) -> str:
    """Return the index summary of a session with these fields.

    Args:
        created_at: Sign-in time.
        last_activity: Latest recorded activity.
        metadata: The session's metadata, which may name its CSRF token and carry
            the remember-me flag.

    Returns:
        A JSON array: sign-in and last activity in microseconds since the epoch, the
        remember-me flag, and the CSRF token's key or ``""``.
    """
    csrf_key = metadata.get(CSRF_TOKEN_ID_META_KEY)
    fields = [
        epoch_microseconds(created_at),
        epoch_microseconds(last_activity),
        bool(metadata.get(REMEMBER_ME_META_KEY)),
        csrf_key if isinstance(csrf_key, str) else "",
    ]
    return json.dumps(fields, separators=(",", ":"))


def parse_session_summaries(summaries: Sequence[str]) -> list[SessionSummary | None]:
    """Parse many summaries in one call into pydantic-core.

    Args:
        summaries: Texts written by ``session_summary``.

    Returns:
        One parsed summary per text, in order, or ``None`` for a text that is not a
        summary, such as the store's mark of a value it could not read.
    """
    if not summaries:
        return []
    try:
        parsed: list[SessionSummary | None] = list(
            _SUMMARIES.validate_json("[" + ",".join(summaries) + "]")
        )
    except ValidationError:
        parsed = []
    if len(parsed) == len(summaries):
        return parsed
    # A text holding two arrays would shift every later summary onto the wrong
    # session, so after any failure each text is parsed alone.
    return [_parse_one(summary) for summary in summaries]


def _parse_one(summary: str) -> SessionSummary | None:
    try:
        return _SUMMARY.validate_json(summary)
    except ValidationError:
        return None


def expiry_reason(
    last_activity: Instant,
    created_at: Instant,
    remembered: bool,
    *,
    idle_cutoff: Instant,
    remembered_cutoff: Instant,
    created_cutoff: Instant | None,
) -> str | None:
    """Return why a session has ended by itself, or ``None`` while it is live.

    The cut-offs are the moments before which the last activity (of a session with or
    without remember-me) or the sign-in ends a session.

    Args:
        last_activity: Latest recorded activity.
        created_at: Sign-in time.
        remembered: Whether the session was created with remember-me.
        idle_cutoff: Cut-off of the last activity without remember-me.
        remembered_cutoff: Cut-off of the last activity with remember-me.
        created_cutoff: Cut-off of the sign-in, or ``None`` without an absolute
            timeout.

    Returns:
        ``"session_timeout"``, ``"session_absolute_timeout"`` or ``None``.
    """
    if last_activity < (remembered_cutoff if remembered else idle_cutoff):
        return REASON_TIMEOUT
    if created_cutoff is not None and created_at < created_cutoff:
        return REASON_ABSOLUTE_TIMEOUT
    return None
