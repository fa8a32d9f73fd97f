"""The storage port: a TTL key/value store of pydantic models.

Every piece of server-side state (sessions, CSRF tokens, one-time tokens, OAuth state,
MFA challenges, token families) goes through this port, so one adapter choice moves all
of it between memory, Redis and a SQL database.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel

from crudauth.constants import DEFAULT_SESSION_TTL_SECONDS

__all__ = ["AbstractSessionStorage"]

T = TypeVar("T", bound=BaseModel)
M = TypeVar("M", bound=BaseModel)


class AbstractSessionStorage(ABC, Generic[T]):
    """Contract of a TTL store of pydantic models keyed by ``prefix + id``.

    Values are stored as the model's JSON. A value whose TTL has passed reads as absent
    everywhere. Backends that talk to a server raise ``StoreUnavailableError`` when it
    does not respond.
    """

    def __init__(
        self, prefix: str = "session:", expiration: int = DEFAULT_SESSION_TTL_SECONDS
    ) -> None:
        self.prefix = prefix
        self.expiration = expiration

    @staticmethod
    def generate_session_id() -> str:
        return str(uuid.uuid4())

    def get_key(self, session_id: str) -> str:
        return f"{self.prefix}{session_id}"

    @abstractmethod
    async def create(
        self, data: T, session_id: str | None = None, expiration: int | None = None
    ) -> str:
        """Store ``data`` under ``session_id`` (a new UUID when ``None``); return it."""

    @abstractmethod
    async def get(self, session_id: str, model_class: type[M]) -> M | None:
        """Return the live value, or ``None`` when absent or expired."""

    @abstractmethod
    async def update(
        self,
        session_id: str,
        data: T,
        reset_expiration: bool = True,
        expiration: int | None = None,
    ) -> bool:
        """Overwrite a live value only; return ``False`` when it is missing."""

    @abstractmethod
    async def delete(self, session_id: str, user_id: Any = None) -> bool:
        """Remove the value; return whether a live value was removed."""

    @abstractmethod
    async def extend(self, session_id: str, expiration: int | None = None) -> bool:
        """Reset the TTL of a live value; return ``False`` when it is missing."""

    @abstractmethod
    async def exists(self, session_id: str) -> bool:
        """Return whether a live value is stored under ``session_id``."""

    async def set_if_absent(self, session_id: str, data: T, expiration: int | None = None) -> bool:
        """Create only when no live value exists; exactly one concurrent caller wins.

        This default is atomic only for a backend whose calls never yield to the event
        loop; networked backends override it.
        """
        if await self.exists(session_id):
            return False
        await self.create(data, session_id=session_id, expiration=expiration)
        return True

    async def get_and_delete(self, session_id: str, model_class: type[M]) -> M | None:
        """Read and remove in one step; exactly one concurrent caller gets the value.

        Atomic by default only for backends that never yield; see ``set_if_absent``.
        """
        value = await self.get(session_id, model_class)
        if value is None:
            return None
        await self.delete(session_id)
        return value

    async def modify(
        self,
        session_id: str,
        model_class: type[M],
        change: Callable[[M], None],
        reset_expiration: bool = True,
        expiration: int | None = None,
    ) -> M | None:
        """Apply ``change`` to the stored value without losing a concurrent change.

        ``change`` may run more than once and must only set fields it owns. Returns the
        new value, or ``None`` when the key is missing.
        """
        value = await self.get(session_id, model_class)
        if value is None:
            return None
        change(value)
        if not await self.update(
            session_id,
            cast(T, value),
            reset_expiration=reset_expiration,
            expiration=expiration,
        ):
            return None
        return value

    async def get_many(self, session_ids: Sequence[str], model_class: type[M]) -> list[M | None]:
        """Return the live values of ``session_ids`` in order, ``None`` where missing.

        Networked backends do this in one round trip.
        """
        return [await self.get(session_id, model_class) for session_id in session_ids]

    async def delete_many(self, session_ids: Sequence[str], user_id: Any = None) -> int:
        """Remove every id in ``session_ids``; return how many live values were removed.

        Networked backends do this in one round trip.
        """
        removed = 0
        for session_id in session_ids:
            if await self.delete(session_id, user_id=user_id):
                removed += 1
        return removed

    async def get_user_sessions(self, user_id: Any) -> list[str]:
        """Return the ids stored with this ``user_id`` (compared as strings)."""
        raise NotImplementedError(f"{type(self).__name__} cannot index values by user")

    async def take_user_values(
        self, user_id: Any, model_class: type[M], keep: Sequence[str] = ()
    ) -> list[tuple[str, M]]:
        """Remove the values ``user_id`` owns, except the ids in ``keep``; return them.

        Owners are compared as strings. An index entry whose value belongs to another
        user is left alone, and one whose value is gone is unlisted. ``model_class``
        may declare only the fields the caller needs. Networked backends do this in
        one round trip; this default reads the index, then the values, then deletes.
        Raises ``NotImplementedError`` when the store cannot index by user.
        """
        ids = list(dict.fromkeys(await self.get_user_sessions(user_id)))
        kept = set(keep)
        ids = [session_id for session_id in ids if session_id not in kept]
        if not ids:
            return []
        values = await self.get_many(ids, model_class)
        owner = str(user_id)
        removed: list[tuple[str, M]] = []
        doomed: list[str] = []
        for session_id, value in zip(ids, values, strict=True):
            if value is None:
                doomed.append(session_id)
            # A stale index entry must never end another user's value.
            elif str(getattr(value, "user_id", None)) == owner:
                doomed.append(session_id)
                removed.append((session_id, value))
        if doomed:
            await self.delete_many(doomed, user_id=user_id)
        return removed

    async def remove_from_user_index(self, user_id: Any, session_id: str) -> None:
        """Drop an index entry whose value is gone."""

    async def scan_keys(self, match: str | None = None) -> list[str]:
        """Return the full keys matching the glob ``match`` (default ``prefix*``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot scan keys")

    async def delete_pattern(self, pattern: str) -> int:
        """Delete every key starting with ``pattern``; return the count."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete by pattern")

    async def initialize(self) -> None:
        """Open connections."""

    async def close(self) -> None:
        """Close connections this store owns."""
