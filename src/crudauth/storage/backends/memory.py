"""Per-process storage in dictionaries, for tests and single-process development."""

from __future__ import annotations

import fnmatch
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from crudauth.constants import DEFAULT_SESSION_TTL_SECONDS
from crudauth.storage._values import validate_json_values
from crudauth.storage.base import AbstractSessionStorage, M, T
from crudauth.storage.constants import DEFAULT_STORAGE_PREFIX, MEMORY_SWEEP_EVERY_WRITES
from crudauth.storage.lists import check_cap
from crudauth.storage.summaries import index_summary_of, summarize_json_values

__all__ = ["MemorySessionStorage"]


class MemorySessionStorage(AbstractSessionStorage[T]):
    """Store values as JSON in this process, with lazy expiry and a periodic sweep.

    No call awaits anything, so the base class's ``set_if_absent``, ``get_and_delete``
    and ``modify`` are atomic here. Values are invisible to other processes, so this
    store is never suitable for more than one worker. Expired values are dropped when
    they are read and by a sweep of the whole store every 256 writes. Expiry follows
    the wall clock (``time.time()``).

    Args:
        prefix: Text put before every id to form the storage key.
        expiration: Default TTL of a value in seconds.
        **_: Ignored, so the backends can be built with the same keyword arguments.

    Example:
        ```python
        from crudauth.storage import MemorySessionStorage

        store = MemorySessionStorage(prefix="test:session:", expiration=600)
        ```
    """

    def __init__(
        self,
        prefix: str = DEFAULT_STORAGE_PREFIX,
        expiration: int = DEFAULT_SESSION_TTL_SECONDS,
        **_: Any,
    ) -> None:
        super().__init__(prefix=prefix, expiration=expiration)
        self._values: dict[str, str] = {}
        # Capped lists, newest entry first, as JSON documents.
        self._lists: dict[str, deque[str]] = {}
        # Absolute expiry of each key in epoch seconds (wall clock, read at call time).
        self._expires_at: dict[str, float] = {}
        # str(user_id) -> ids of that user's values; key -> owner, for index upkeep.
        self._user_index: dict[str, set[str]] = {}
        self._owners: dict[str, str] = {}
        # key -> index summary of an indexed value whose model defines one.
        self._summaries: dict[str, str] = {}
        self._writes = 0

    def _now(self) -> float:
        return time.time()

    def _is_live(self, key: str, now: float | None = None) -> bool:
        expires_at = self._expires_at.get(key)
        if expires_at is None:
            return False
        if expires_at <= (self._now() if now is None else now):
            self._drop(key)
            return False
        return True

    def _drop(self, key: str) -> bool:
        existed = self._values.pop(key, None) is not None
        existed = self._lists.pop(key, None) is not None or existed
        self._expires_at.pop(key, None)
        self._summaries.pop(key, None)
        owner = self._owners.pop(key, None)
        if owner is not None:
            self._drop_index_entry(owner, key)
        return existed

    def _index(self, key: str, data: T) -> None:
        user_id = getattr(data, "user_id", None)
        owner = None if user_id is None else str(user_id)
        summary = None if owner is None else index_summary_of(data)
        if summary is None:
            self._summaries.pop(key, None)
        else:
            self._summaries[key] = summary
        previous = self._owners.get(key)
        if previous == owner:
            return
        if previous is not None:
            self._drop_index_entry(previous, key)
        if owner is None:
            self._owners.pop(key, None)
            return
        self._owners[key] = owner
        self._user_index.setdefault(owner, set()).add(key[len(self.prefix) :])

    def _drop_index_entry(self, owner: str, key: str) -> None:
        ids = self._user_index.get(owner)
        if ids is None:
            return
        ids.discard(key[len(self.prefix) :])
        if not ids:
            del self._user_index[owner]

    def _sweep(self) -> None:
        now = self._now()
        expired = [key for key, expires_at in self._expires_at.items() if expires_at <= now]
        for key in expired:
            self._drop(key)

    def _note_write(self) -> None:
        self._writes += 1
        if self._writes % MEMORY_SWEEP_EVERY_WRITES == 0:
            self._sweep()

    async def create(
        self, data: T, session_id: str | None = None, expiration: int | None = None
    ) -> str:
        """Store the value and list it in its owner's index."""
        session_id = session_id or self.generate_session_id()
        key = self.get_key(session_id)
        ttl = self.expiration if expiration is None else expiration
        self._values[key] = data.model_dump_json()
        self._lists.pop(key, None)
        self._expires_at[key] = self._now() + ttl
        self._index(key, data)
        self._note_write()
        return session_id

    async def get(self, session_id: str, model_class: type[M]) -> M | None:
        """Read the value, dropping it first when it has expired."""
        key = self.get_key(session_id)
        if not self._is_live(key):
            return None
        raw = self._values.get(key)
        # A capped list lives under the same keys but is read with read_capped.
        return None if raw is None else model_class.model_validate_json(raw)

    async def update(
        self,
        session_id: str,
        data: T,
        reset_expiration: bool = True,
        expiration: int | None = None,
    ) -> bool:
        """Overwrite a live value and move it to the index of its new owner."""
        key = self.get_key(session_id)
        now = self._now()
        if not self._is_live(key, now):
            return False
        self._values[key] = data.model_dump_json()
        if reset_expiration:
            ttl = self.expiration if expiration is None else expiration
            self._expires_at[key] = now + ttl
        self._index(key, data)
        return True

    async def delete(self, session_id: str, user_id: Any = None) -> bool:
        """Remove the value and its index entry, without needing ``user_id``."""
        key = self.get_key(session_id)
        live = self._is_live(key)
        self._drop(key)
        return live

    async def extend(self, session_id: str, expiration: int | None = None) -> bool:
        """Restart the TTL of a live value."""
        key = self.get_key(session_id)
        now = self._now()
        if not self._is_live(key, now):
            return False
        ttl = self.expiration if expiration is None else expiration
        self._expires_at[key] = now + ttl
        return True

    async def exists(self, session_id: str) -> bool:
        """Return whether a live value exists, dropping an expired one."""
        return self._is_live(self.get_key(session_id))

    async def get_user_sessions(self, user_id: Any) -> list[str]:
        """Return the owner's live ids, dropping the expired values it finds."""
        ids = self._user_index.get(str(user_id))
        if not ids:
            return []
        now = self._now()
        return [
            session_id for session_id in list(ids) if self._is_live(self.prefix + session_id, now)
        ]

    async def take_user_values(
        self, user_id: Any, model_class: type[M], keep: Sequence[str] = ()
    ) -> list[tuple[str, M]]:
        """Remove the owner's live values but ``keep`` in one pass over its index.

        The index is written from each value's own ``user_id`` on every write, so an
        entry proves ownership without parsing the value first. The taken entries
        leave the index at once, expired ones included, instead of one by one.
        """
        taken = self._detach_owned(user_id, keep)
        values = validate_json_values(model_class, [raw for _, raw, _ in taken])
        return [
            (session_id, value) for (session_id, _, _), value in zip(taken, values, strict=True)
        ]

    async def take_user_summaries(
        self, user_id: Any, model_class: type[M], keep: Sequence[str] = ()
    ) -> list[tuple[str, str]]:
        """Remove the owner's live values but ``keep``, returning their summaries.

        Works like ``take_user_values`` but parses only the values that were stored
        without a summary, as ``summarize_json_values`` does.
        """
        summaries: list[tuple[str, str]] = []
        unsummarized: list[tuple[str, str]] = []
        for session_id, raw, summary in self._detach_owned(user_id, keep):
            if summary is None:
                unsummarized.append((session_id, raw))
            else:
                summaries.append((session_id, summary))
        read = summarize_json_values(model_class, [raw for _, raw in unsummarized])
        summaries.extend(
            (session_id, summary)
            for (session_id, _), summary in zip(unsummarized, read, strict=True)
        )
        return summaries

    def _detach_owned(self, user_id: Any, keep: Sequence[str]) -> list[tuple[str, str, str | None]]:
        """Drop the owner's values but ``keep``.

        Returns:
            The id, JSON and summary (or ``None``) of each value that was live.
        """
        owner = str(user_id)
        ids = self._user_index.pop(owner, None)
        if not ids:
            return []
        kept_ids = ids.intersection(keep)
        if kept_ids:
            self._user_index[owner] = kept_ids
        now = self._now()
        detached: list[tuple[str, str, str | None]] = []
        for session_id in ids.difference(kept_ids):
            key = self.prefix + session_id
            self._owners.pop(key, None)
            self._lists.pop(key, None)
            summary = self._summaries.pop(key, None)
            expires_at = self._expires_at.pop(key, None)
            raw = self._values.pop(key, None)
            # An expired value is dropped with the others but not returned.
            if raw is None or expires_at is None or expires_at <= now:
                continue
            detached.append((session_id, raw, summary))
        return detached

    async def remove_from_user_index(self, user_id: Any, session_id: str) -> None:
        """Unlist the id from the owner's index, leaving the value stored."""
        key = self.get_key(session_id)
        owner = str(user_id)
        if self._owners.get(key) == owner:
            del self._owners[key]
        self._drop_index_entry(owner, key)

    async def scan_keys(self, match: str | None = None) -> list[str]:
        """Match every live key against the glob with ``fnmatch.fnmatchcase``."""
        pattern = f"{self.prefix}*" if match is None else match
        now = self._now()
        return [
            key
            for key in list(self._expires_at)
            if fnmatch.fnmatchcase(key, pattern) and self._is_live(key, now)
        ]

    async def delete_pattern(self, pattern: str) -> int:
        """Drop every matching key, counting only the live ones."""
        now = self._now()
        matching = [
            key for key in list(self._expires_at) if fnmatch.fnmatchcase(key, f"{pattern}*")
        ]
        removed = 0
        for key in matching:
            if self._is_live(key, now):
                removed += 1
            self._drop(key)
        return removed

    async def push_capped(
        self,
        list_id: str,
        item: BaseModel,
        *,
        cap: int,
        expiration: int | None = None,
    ) -> None:
        """Push onto a deque and trim it: constant time however long the list is."""
        check_cap(cap)
        key = self.get_key(list_id)
        now = self._now()
        entries = self._lists.get(key) if self._is_live(key, now) else None
        if entries is None:
            # A plain value under the same id is replaced, as a new list.
            self._drop(key)
            entries = self._lists[key] = deque()
        entries.appendleft(item.model_dump_json())
        while len(entries) > cap:
            entries.pop()
        self._expires_at[key] = now + (self.expiration if expiration is None else expiration)
        self._note_write()

    async def read_capped(self, list_id: str, model_class: type[M]) -> list[M]:
        """Validate the deque's entries, newest first."""
        key = self.get_key(list_id)
        if not self._is_live(key):
            return []
        return validate_json_values(model_class, list(self._lists.get(key, ())))
