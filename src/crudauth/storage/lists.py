"""Capped lists in the storage port: append in constant time, newest first.

A per-user log (the security log) gains an entry on every sign-in and sign-out. Kept
as one stored value, each entry would read, validate and rewrite the whole log. The
Redis and memory stores keep such a list natively, so an append costs the same
however long the list is. Other stores use the default here, which keeps the list as
one value and rewrites it, and is correct on any store that implements ``modify``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel, Field

from crudauth.storage.upsert import modify_or_create

if TYPE_CHECKING:
    from crudauth.storage.base import AbstractSessionStorage

__all__ = ["CappedLists", "StoredList", "check_cap"]

M = TypeVar("M", bound=BaseModel)


def check_cap(cap: int) -> None:
    """Raise ``ValueError`` unless ``cap`` keeps at least one entry.

    Redis's ``LTRIM key 0 -1`` keeps the whole list, so a cap of 0 must not reach it.
    """
    if cap < 1:
        raise ValueError(f"cap must be 1 or more, not {cap}")


class StoredList(BaseModel):
    """Stored form of a capped list on stores without a native list, newest first."""

    items: list[Any] = Field(default_factory=list)


class CappedLists:
    """The capped-list methods of ``AbstractSessionStorage``, with their defaults.

    A list lives under its own id, like any value: ``delete`` and ``exists`` work on
    it, and its TTL restarts on every push. Read it only with ``read_capped``.
    """

    async def push_capped(
        self,
        list_id: str,
        item: BaseModel,
        *,
        cap: int,
        expiration: int | None = None,
    ) -> None:
        """Put ``item`` at the head of the list, drop all but the newest ``cap`` items.

        The list is created when missing. Two concurrent pushes both land. This
        default rewrites the whole list through ``modify``, so its cost grows with
        the list. The Redis and memory stores push in constant time.

        Args:
            list_id: The id of the list.
            item: The new entry.
            cap: How many entries to keep, 1 or more.
            expiration: TTL of the whole list in seconds, restarted by this push.
                ``None`` uses the store's ``expiration``.

        Raises:
            StoreUnavailableError: The store's server did not respond.
            ValueError: ``cap`` is below 1.
            RuntimeError: Concurrent writers kept the push from landing.
        """
        check_cap(cap)
        store = cast("AbstractSessionStorage[Any]", self)
        entry = item.model_dump(mode="json")

        def prepend(stored: StoredList) -> None:
            stored.items = [entry, *stored.items][:cap]

        await modify_or_create(store, list_id, StoredList, prepend, expiration=expiration)

    async def read_capped(self, list_id: str, model_class: type[M]) -> list[M]:
        """Return every entry of the list, newest first; an absent list is empty.

        Args:
            list_id: The id of the list.
            model_class: The model each entry is validated into.

        Returns:
            The entries, newest first.

        Raises:
            StoreUnavailableError: The store's server did not respond.
        """
        store = cast("AbstractSessionStorage[Any]", self)
        stored = await store.get(list_id, StoredList)
        if stored is None:
            return []
        return [model_class.model_validate(entry) for entry in stored.items]
