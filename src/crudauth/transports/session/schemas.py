"""Stored shapes of the session transport: sessions, CSRF tokens, device info."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field, field_validator

from crudauth.transports.session.constants import MAX_USER_AGENT_LENGTH, UNKNOWN_DEVICE_FIELD
from crudauth.transports.session.summaries import session_summary

__all__ = ["CSRFToken", "SessionData", "UserAgentInfo"]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SessionData(BaseModel):
    """Server-side session record.

    Attributes:
        user_id: Primary key of the session's user.
        session_id: The storage key (an HMAC of the cookie value when the manager has
            a key secret), never the cookie value itself.
        ip_address: Client IP at sign-in.
        user_agent: User-Agent header at sign-in, cut to ``USER_AGENT_MAX_LENGTH``.
        device_info: ``UserAgentInfo`` fields parsed from ``user_agent``.
        created_at: Sign-in time (UTC), the start of the absolute timeout.
        last_activity: Time of the latest recorded activity (UTC), the start of the
            idle timeout.
        metadata: Values such as ``remember_me``, ``login_type`` and the CSRF token's
            storage key.
        token_version: The user's credential epoch at sign-in. ``None`` means the
            session is not epoch-bound.
    """

    user_id: Any
    session_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    ip_address: str = ""
    user_agent: str = ""
    device_info: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=_utc_now)
    last_activity: datetime = Field(default_factory=_utc_now)
    metadata: dict[str, Any] = Field(default_factory=dict)
    token_version: int | None = None

    @field_validator("user_agent")
    @classmethod
    def _truncate_user_agent(cls, value: str) -> str:
        # A hostile client cannot bloat every session record with a huge header.
        return value[:MAX_USER_AGENT_LENGTH]

    def index_summary(self) -> str:
        """Return the fields that ending the session needs, for the store's index."""
        return session_summary(self.created_at, self.last_activity, self.metadata)


class CSRFToken(BaseModel):
    """Server-side CSRF record bound to one session.

    Attributes:
        token: The token's storage key.
        session_id: The storage key of the session the token belongs to.
        expiry: Informational expiry time. Validity is governed by the store TTL.
    """

    token: str
    session_id: str
    expiry: datetime


class UserAgentInfo(BaseModel):
    """Device fields parsed from a User-Agent header.

    Attributes:
        browser: Browser family, e.g. ``"Firefox"``, or ``"Unknown"``.
        browser_version: Browser version such as ``"124.0.0"``, or ``""``.
        os: Operating system family, e.g. ``"macOS"``, or ``"Unknown"``.
        os_version: Operating system version, or ``""``.
        device: Device family, e.g. ``"iPhone"``, or ``"Unknown"``.
        is_mobile: A phone, by a heuristic.
        is_tablet: A tablet, by a heuristic.
        is_pc: A desktop operating system, by a heuristic.
        is_bot: A crawler.
    """

    browser: str = UNKNOWN_DEVICE_FIELD
    browser_version: str = ""
    os: str = UNKNOWN_DEVICE_FIELD
    os_version: str = ""
    device: str = UNKNOWN_DEVICE_FIELD
    is_mobile: bool = False
    is_tablet: bool = False
    is_pc: bool = False
    is_bot: bool = False
