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
from crudauth.storage.lists import CappedLists
from crudauth.storage.summaries import IndexSummaries

__all__ = ["AbstractSessionStorage"]

T = TypeVar("T", bound=BaseModel)
M = TypeVar("M", bound=BaseModel)


class AbstractSessionStorage(CappedLists, IndexSummaries, ABC, Generic[T]):
    """Contract of a TTL store of pydantic models keyed by ``prefix + id``.

    Values are stored as the model's JSON. A value whose TTL has passed reads as absent
    everywhere. A value with a ``user_id`` field is listed in a per-user index, which
    ``get_user_sessions``, ``take_user_values`` and ``take_user_summaries`` read.
    Backends that talk to a server (Redis, SQL) raise ``StoreUnavailableError`` when it
    does not respond.

    Subclasses implement the six abstract methods. The other methods have defaults built
    on them that are atomic only when no call yields to the event loop, so networked
    backends override them.

    Args:
        prefix: Text put before every id to form the storage key.
        expiration: Default TTL of a value in seconds.
    """

    def __init__(
        self, prefix: str = "session:", expiration: int = DEFAULT_SESSION_TTL_SECONDS
    ) -> None:
        self.prefix = prefix
        self.expiration = expiration

    @staticmethod
    def generate_session_id() -> str:
        """Return a new random id: a UUID4 in its 36-character text form."""
        return str(uuid.uuid4())

    def get_key(self, session_id: str) -> str:
        """Return the storage key of ``session_id``: the prefix followed by the id."""
        return f"{self.prefix}{session_id}"

    @abstractmethod
    async def create(
        self, data: T, session_id: str | None = None, expiration: int | None = None
    ) -> str:
        """Store ``data`` under ``session_id``, replacing any value stored there.

        Args:
            data: The value to store.
            session_id: The id to store it under. ``None`` or an empty string stores
                it under a new ``generate_session_id()``.
            expiration: TTL in seconds. ``None`` uses the store's ``expiration``.

        Returns:
            The id the value was stored under.

        Raises:
            StoreUnavailableError: The store's server did not respond.
        """

    @abstractmethod
    async def get(self, session_id: str, model_class: type[M]) -> M | None:
        """Read the live value stored under ``session_id``.

        Args:
            session_id: The id of the value.
            model_class: The model the stored JSON is validated into. It may declare
                fewer fields than the stored model.

        Returns:
            The value, or ``None`` when it is absent or expired.

        Raises:
            StoreUnavailableError: The store's server did not respond.
            pydantic.ValidationError: The stored JSON does not fit ``model_class``.
        """

    @abstractmethod
    async def update(
        self,
        session_id: str,
        data: T,
        reset_expiration: bool = True,
        expiration: int | None = None,
    ) -> bool:
        """Overwrite a live value, never recreating one that is absent or expired.

        Args:
            session_id: The id of the value.
            data: The new value.
            reset_expiration: Restart the TTL. ``False`` keeps the remaining TTL.
            expiration: TTL in seconds when ``reset_expiration`` is true. ``None``
                uses the store's ``expiration``.

        Returns:
            ``True`` when a live value was overwritten, ``False`` when none exists.

        Raises:
            StoreUnavailableError: The store's server did not respond.
        """

    @abstractmethod
    async def delete(self, session_id: str, user_id: Any = None) -> bool:
        """Remove the value stored under ``session_id``.

        Args:
            session_id: The id of the value.
            user_id: The value's owner when the caller knows it. Backends with a
                separate per-user index use it to unlist the id in the same step.

        Returns:
            Whether a live value was removed. An expired value is removed too but
            reported as ``False``.

        Raises:
            StoreUnavailableError: The store's server did not respond.
        """

    @abstractmethod
    async def extend(self, session_id: str, expiration: int | None = None) -> bool:
        """Restart the TTL of a live value without changing the value.

        Args:
            session_id: The id of the value.
            expiration: The new TTL in seconds. ``None`` uses the store's
                ``expiration``.

        Returns:
            ``True`` when a live value was found, ``False`` when none exists.

        Raises:
            StoreUnavailableError: The store's server did not respond.
        """

    @abstractmethod
    async def exists(self, session_id: str) -> bool:
        """Return whether a live value is stored under ``session_id``.

        Args:
            session_id: The id of the value.

        Returns:
            ``True`` when a value exists and has not expired.

        Raises:
            StoreUnavailableError: The store's server did not respond.
        """

    async def set_if_absent(self, session_id: str, data: T, expiration: int | None = None) -> bool:
        """Store ``data`` only when no live value exists under ``session_id``.

        Exactly one of several concurrent callers wins, so this claims a key once. This
        default (``exists``, then ``create``) is atomic only for a backend whose calls
        never yield to the event loop, so networked backends override it. A stored
        value with a ``user_id`` is listed in its owner's index, as with ``create``.

        Args:
            session_id: The id to claim.
            data: The value to store.
            expiration: TTL in seconds. ``None`` uses the store's ``expiration``.

        Returns:
            ``True`` when this call stored the value, ``False`` when a live value was
            already there.

        Raises:
            StoreUnavailableError: The store's server did not respond.
        """
        if await self.exists(session_id):
            return False
        await self.create(data, session_id=session_id, expiration=expiration)
        return True

    async def get_and_delete(self, session_id: str, model_class: type[M]) -> M | None:
        """Read and remove a value in one step, so it can be consumed only once.

        Exactly one of several concurrent callers receives the value. This default
        (``get``, then ``delete``) is atomic only for a backend whose calls never yield
        to the event loop, so networked backends override it.

        Args:
            session_id: The id of the value.
            model_class: The model the stored JSON is validated into.

        Returns:
            The removed value, or ``None`` when it was absent, expired or taken by a
            concurrent caller.

        Raises:
            StoreUnavailableError: The store's server did not respond.
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

        The value is read, changed in place by ``change`` and written back only while
        it is still live, so a value deleted meanwhile stays deleted. This default is
        safe only for a backend whose calls never yield to the event loop. The Redis
        and SQL stores retry on a concurrent write instead.

        Args:
            session_id: The id of the value.
            model_class: The model the stored JSON is validated into and passed to
                ``change`` as.
            change: Mutates the value in place. It may run more than once, each time
                on a freshly read value, and must only set fields it owns.
            reset_expiration: Restart the TTL. ``False`` keeps the remaining TTL.
            expiration: TTL in seconds when ``reset_expiration`` is true. ``None``
                uses the store's ``expiration``.

        Returns:
            The changed value as stored, or ``None`` when no live value exists.

        Raises:
            StoreUnavailableError: The store's server did not respond.
            RuntimeError: A networked backend gave up after too many concurrent
                changes to the same key.
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
        """Read the live values of several ids at once.

        Networked backends do this in one round trip, but this default reads one id
        after the other.

        Args:
            session_ids: The ids to read.
            model_class: The model the stored JSON is validated into.

        Returns:
            One entry per id, in the order of ``session_ids``: the value, or ``None``
            where it is absent or expired.

        Raises:
            StoreUnavailableError: The store's server did not respond.
        """
        return [await self.get(session_id, model_class) for session_id in session_ids]

    async def delete_many(self, session_ids: Sequence[str], user_id: Any = None) -> int:
        """Remove the values of several ids at once.

        Networked backends do this in one call to the server, but this default deletes
        one id after the other.

        Args:
            session_ids: The ids to remove.
            user_id: The owner of every value when the caller knows it, as in
                ``delete``.

        Returns:
            How many live values were removed.

        Raises:
            StoreUnavailableError: The store's server did not respond.
        """
        removed = 0
        for session_id in session_ids:
            if await self.delete(session_id, user_id=user_id):
                removed += 1
        return removed

    async def get_user_sessions(self, user_id: Any) -> list[str]:
        """Return the ids listed in the per-user index of ``user_id``.

        Owners are compared as strings, so ``7`` and ``"7"`` are one user. Depending on
        the backend the list may still name values that expired or were removed, so
        callers read the values and check their ``user_id``.

        Args:
            user_id: The owner.

        Returns:
            The ids, in no particular order.

        Raises:
            NotImplementedError: The store cannot index values by user. This default
                always raises it.
            StoreUnavailableError: The store's server did not respond.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot index values by user")

    async def take_user_values(
        self, user_id: Any, model_class: type[M], keep: Sequence[str] = ()
    ) -> list[tuple[str, M]]:
        """Remove every value ``user_id`` owns, except the ids in ``keep``.

        Owners are compared as strings. An index entry whose value belongs to another
        user is left alone, and one whose value is gone is unlisted. The Redis store
        does this in one atomic script call. This default reads the index, then the
        values, then deletes, without atomicity.

        Args:
            user_id: The owner.
            model_class: The model the removed values are validated into. It may
                declare only the fields the caller needs.
            keep: Ids to leave stored and listed.

        Returns:
            ``(id, value)`` for every removed value, in no particular order. The
            store checks only its own TTL, so a value that its fields mark as expired
            (an idle session, for example) is returned too, and the caller filters it.

        Raises:
            NotImplementedError: The store cannot index values by user.
            StoreUnavailableError: The store's server did not respond.
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
        """Unlist ``session_id`` from the per-user index of ``user_id``.

        Use it for an index entry whose value is gone. This default does nothing, for
        stores without a separate index.

        Args:
            user_id: The owner whose index lists the id.
            session_id: The id to unlist.

        Raises:
            StoreUnavailableError: The store's server did not respond.
        """

    async def scan_keys(self, match: str | None = None) -> list[str]:
        """Return the storage keys of live values that match a glob pattern.

        Args:
            match: A glob pattern over full storage keys (prefix included), with
                ``*``, ``?`` and ``[...]``. ``None`` matches every key under the
                store's prefix.

        Returns:
            The matching full keys, prefix included, in no particular order.

        Raises:
            NotImplementedError: The store cannot scan its keys. This default always
                raises it.
            StoreUnavailableError: The store's server did not respond.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot scan keys")

    async def delete_pattern(self, pattern: str) -> int:
        """Delete every key that starts with ``pattern``.

        Args:
            pattern: A full-key prefix, prefix of the store included. Glob characters
                in it keep their glob meaning.

        Returns:
            How many live values were deleted.

        Raises:
            NotImplementedError: The store cannot delete by pattern. This default
                always raises it.
            StoreUnavailableError: The store's server did not respond.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot delete by pattern")

    async def initialize(self) -> None:
        """Prepare the store before first use.

        This default does nothing.

        Raises:
            StoreUnavailableError: The store's server did not respond.
        """

    async def close(self) -> None:
        """Close the connections this store owns.

        This default does nothing.
        """
