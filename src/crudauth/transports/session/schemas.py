"""Stored shapes of the session transport: sessions, CSRF tokens, device info."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field, field_validator

from crudauth.transports.session.constants import MAX_USER_AGENT_LENGTH, UNKNOWN_DEVICE_FIELD

__all__ = ["CSRFToken", "SessionData", "UserAgentInfo"]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SessionData(BaseModel):
    """Server-side session record.

    ``session_id`` is the storage key (an HMAC of the cookie value when the manager
    has a key secret), never the cookie value itself. ``token_version`` is the user's
    credential epoch at sign-in; ``None`` means the session is not epoch-bound.
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


class CSRFToken(BaseModel):
    """Server-side CSRF record bound to one session.

    ``token`` is the token's storage key and ``session_id`` the storage key of the
    session it belongs to. Validity is governed by the store TTL; ``expiry`` is
    informational.
    """

    token: str
    session_id: str
    expiry: datetime


class UserAgentInfo(BaseModel):
    """Device fields parsed from a User-Agent header."""

    browser: str = UNKNOWN_DEVICE_FIELD
    browser_version: str = ""
    os: str = UNKNOWN_DEVICE_FIELD
    os_version: str = ""
    device: str = UNKNOWN_DEVICE_FIELD
    is_mobile: bool = False
    is_tablet: bool = False
    is_pc: bool = False
    is_bot: bool = False
