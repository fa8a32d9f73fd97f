"""The authenticated identity every transport resolves a request to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Principal"]


@dataclass(frozen=True)
class Principal:
    """Who made the request, and through which transport.

    ``metadata`` is transport-specific: the session transport stores the raw session id
    under ``"session_id"``, which must never be sent back to a client.
    """

    user_id: Any
    scopes: tuple[str, ...] = ()
    transport: str = ""
    user: Any = None
    is_superuser: bool = False
    email_verified: bool = False
    recovery_verified: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)

    def has_scopes(self, required: Iterable[str]) -> bool:
        """Return whether every scope in ``required`` was granted."""
        return set(required) <= set(self.scopes)
