"""Token family records: the stored family and the outcome of a rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["FamilyRotation", "StoredFamily", "TokenFamily"]

# A stored family paired with the storage key it lives under.
StoredFamily = tuple[str, "TokenFamily"]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class TokenFamily(BaseModel):
    """Stored record of one token family (one signed-in app or script).

    Attributes:
        user_id: Primary key of the family's user.
        handle: The public id shown in device lists, random and unrelated to the
            family id.
        ip_address: Client IP at sign-in.
        user_agent: User-Agent header at sign-in.
        device_info: Device fields parsed from ``user_agent``.
        scopes: Scopes granted at sign-in.
        created_at: Sign-in time (UTC).
        last_used: Time of sign-in or of the latest rotation (UTC).
        expires_at: End of the refresh lifetime (UTC), moved on every rotation.
        token_version: The user's credential epoch the family is bound to. ``None``
            means the family is not epoch-bound.
        rotation_digest: HMAC of the current rotation id.
        previous_digest: HMAC of the rotation id just replaced, for the grace window.
        rotated_at: Time of the latest rotation, the start of the grace window.
    """

    user_id: Any
    handle: str
    ip_address: str = ""
    user_agent: str = ""
    device_info: dict[str, Any] = Field(default_factory=dict)
    scopes: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=_utc_now)
    last_used: datetime = Field(default_factory=_utc_now)
    expires_at: datetime
    token_version: int | None = None
    rotation_digest: str
    previous_digest: str | None = None
    rotated_at: datetime | None = None


@dataclass(frozen=True)
class FamilyRotation:
    """Outcome of presenting a refresh token to ``TokenFamilies.rotate``.

    Attributes:
        status: ``"rotated"`` (a new rotation id), ``"grace"`` (a racing refresh of
            the rotation just replaced, which gets the same new id), ``"reused"``
            (a rotated refresh token outside the grace window, so the family is now
            revoked) or ``"missing"`` (no live family).
        rotation_id: The new raw rotation id for ``"rotated"`` and ``"grace"``, else
            ``None``.
        family: The family record after the call, for every status but
            ``"missing"``.
    """

    status: Literal["rotated", "grace", "reused", "missing"]
    rotation_id: str | None = None
    family: TokenFamily | None = None
