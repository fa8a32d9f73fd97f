"""Stored shape of a pending two-step login."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["MfaChallenge"]


class MfaChallenge(BaseModel):
    """A login whose password was right and whose second factor is still due.

    It is stored under the SHA-256 hex of the challenge token, never the token itself.
    The user is named ``account_id`` rather than ``user_id`` so stores that index
    records per user leave challenges out of that index.
    """

    account_id: str
    # The user's credential epoch at password time: a reset or change voids the login.
    token_version: int
    # Name of the transport that issues the credential once the code is proven.
    transport: str
    # True when the account enrols during this login (MFA required, none set up yet).
    setup: bool = False
    # The login identifier as typed, and the client IP, for the shared login lockout.
    lockout_identifier: str
    ip_address: str | None = None
    # What the transport needs to finish: remember_me, scopes, metadata, redirect_to.
    options: dict[str, Any] = Field(default_factory=dict)
    attempts: int = 0
