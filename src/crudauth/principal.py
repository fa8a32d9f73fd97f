"""The authenticated identity every transport resolves a request to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Principal"]


@dataclass(frozen=True)
class Principal:
    """Who made the request, and through which transport.

    ``auth.current_user()`` returns one to your route.

    Attributes:
        user_id: Primary key of the user, as the user model stores it.
        scopes: Scopes granted to a bearer token; empty for sessions.
        transport: Name of the transport that authenticated the request
            (``"session"``, ``"bearer"`` or a custom transport's name).
        user: The loaded user row.
        is_superuser: The row's superuser flag.
        email_verified: Whether the email address is verified.
        recovery_verified: Whether the configured recovery factor is verified.
        metadata: Transport-specific data. The session transport stores the raw
            session id under ``"session_id"``, which must never be sent to a client.

    Example:
        ```python
        @app.get("/profile")
        async def profile(principal: Principal = Depends(auth.current_user())):
            return {"id": principal.user_id, "via": principal.transport}
        ```
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
        """Return whether every scope in ``required`` was granted.

        Args:
            required: Scope names that must all be present.
        """
        return set(required) <= set(self.scopes)
