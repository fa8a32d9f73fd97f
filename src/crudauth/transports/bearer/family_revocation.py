"""Listing and revoking a user's token families, mixed into ``TokenFamilies``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from crudauth.storage.base import AbstractSessionStorage
from crudauth.transports.bearer.family_records import StoredFamily, TokenFamily
from crudauth.transports.session.keys import same_text

__all__ = ["FamilyRevocation"]


class FamilyRevocation:
    """Per-user listing and revocation of token families.

    A mixin of ``TokenFamilies`` without a constructor: ``TokenFamilies.__init__`` sets
    ``storage``, and ``TokenFamilies`` supplies the key and lookup methods declared
    below.
    """

    storage: AbstractSessionStorage[Any]

    if TYPE_CHECKING:
        # Provided by TokenFamilies.
        def _now(self) -> datetime: ...

        def family_key(self, family_id: str) -> str: ...

        async def _locate(self, family_id: str) -> TokenFamily | None: ...

    async def live_for_user(self, user_id: Any) -> list[StoredFamily]:
        """Return the user's live families, deleting the dead ones the index lists.

        Costs at most three store calls: the index read, one batched read and, when
        dead entries are found, one batched delete.

        Args:
            user_id: The owner.

        Returns:
            ``(storage key, record)`` per live family. An empty list when the store
            cannot index by user.

        Raises:
            StoreUnavailableError: The store did not respond.
        """
        try:
            keys = list(dict.fromkeys(await self.storage.get_user_sessions(user_id)))
        except NotImplementedError:
            return []
        if not keys:
            return []
        records = await self.storage.get_many(keys, TokenFamily)
        owner = str(user_id)
        now = self._now()
        live: list[StoredFamily] = []
        dead: list[str] = []
        for key, record in zip(keys, records, strict=True):
            if record is None or record.expires_at <= now:
                dead.append(key)
            # A stale index entry must never expose another user's family.
            elif str(record.user_id) == owner:
                live.append((key, record))
        if dead:
            await self.storage.delete_many(dead, user_id=user_id)
        return live

    async def revoke(self, family_id: str) -> TokenFamily | None:
        """End the family of a raw family id.

        Args:
            family_id: The raw family id.

        Returns:
            The ended record, or ``None`` when no live family was deleted.

        Raises:
            StoreUnavailableError: The store did not respond.
        """
        if not family_id:
            return None
        key = self.family_key(family_id)
        record = await self._locate(family_id)
        if record is None:
            return None
        if not await self.storage.delete(key, user_id=record.user_id):
            return None
        return record

    async def revoke_by_handle(self, handle: str, owner_id: Any) -> TokenFamily | None:
        """End the family of ``owner_id`` whose public handle is ``handle``.

        Only the owner's families are searched, so a foreign or unknown handle gives
        ``None`` exactly like a missing one.

        Args:
            handle: The public handle from the device list.
            owner_id: The user whose families are searched.

        Returns:
            The ended record, or ``None``.

        Raises:
            StoreUnavailableError: The store did not respond.
        """
        if not handle:
            return None
        for key, record in await self.live_for_user(owner_id):
            if same_text(record.handle, handle):
                if await self.storage.delete(key, user_id=owner_id):
                    return record
                return None
        return None

    async def revoke_all(self, user_id: Any, *, exclude: str | None = None) -> list[TokenFamily]:
        """End every live family of the user except the raw family id ``exclude``.

        The store checks that each family belongs to the user, then removes and returns
        them in one call. Families already past their lifetime are removed too, but not
        returned.

        Args:
            user_id: The owner.
            exclude: The raw family id to keep, or ``None``.

        Returns:
            The ended records that were still live. An empty list when the store
            cannot index by user.

        Raises:
            StoreUnavailableError: The store did not respond.
        """
        kept_key = self.family_key(exclude) if exclude else None
        try:
            removed = await self.storage.take_user_values(
                user_id, TokenFamily, keep=[kept_key] if kept_key else ()
            )
        except NotImplementedError:
            return []
        now = self._now()
        return [record for _, record in removed if record.expires_at > now]
