"""Saved passkeys in the storage port: one record per user plus a credential-id index.

``user:<user id>`` contains the user's handle and passkeys, and
``credential:<SHA-256 hex of the credential id>`` names the owner of a credential, so
a discoverable sign-in (which sends no username) finds its user in one read.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone
from typing import Any

from crudauth.passkeys.constants import PASSKEY_RECORD_TTL_SECONDS, USER_HANDLE_BYTES
from crudauth.passkeys.schemas import CredentialOwner, StoredPasskey, UserPasskeys
from crudauth.storage.base import AbstractSessionStorage
from crudauth.transports.session.keys import same_text

__all__ = ["PasskeyStore", "credential_key"]


def credential_key(credential_id: str) -> str:
    """Return the index key of a base64url credential id.

    Args:
        credential_id: The credential id in base64url.

    Returns:
        ``credential:<SHA-256 hex of the id>``.
    """
    digest = hashlib.sha256(credential_id.encode("ascii", "replace")).hexdigest()
    return f"credential:{digest}"


def _user_key(account_id: str) -> str:
    return f"user:{account_id}"


class PasskeyStore:
    """Read and change passkeys through a store built with a very long TTL.

    Every method raises ``StoreUnavailableError`` when the store is unreachable.

    Args:
        store: The storage port instance for passkey records.
    """

    def __init__(self, store: AbstractSessionStorage[Any]) -> None:
        self.store = store

    async def for_user(self, account_id: str) -> UserPasskeys | None:
        """Return the user's record, or ``None`` when they never started a ceremony.

        Args:
            account_id: The user id as text.
        """
        return await self.store.get(_user_key(account_id), UserPasskeys)

    async def ensure_user(self, account_id: str) -> UserPasskeys:
        """Return the user's record, creating it with a new random user handle.

        Args:
            account_id: The user id as text.
        """
        record = UserPasskeys(
            account_id=account_id,
            user_handle=secrets.token_urlsafe(USER_HANDLE_BYTES),
        )
        # Exactly one concurrent caller creates it, so the user handle never changes.
        await self.store.set_if_absent(
            _user_key(account_id), record, expiration=PASSKEY_RECORD_TTL_SECONDS
        )
        stored = await self.for_user(account_id)
        return stored if stored is not None else record

    async def owner_of(self, credential_id: str) -> str | None:
        """Return the account id that registered ``credential_id``, if any.

        Args:
            credential_id: The credential id in base64url.
        """
        owner = await self.store.get(credential_key(credential_id), CredentialOwner)
        return owner.account_id if owner is not None else None

    async def find(self, account_id: str, credential_id: str) -> StoredPasskey | None:
        """Return ``account_id``'s passkey with ``credential_id``, or ``None``.

        Args:
            account_id: The user id as text.
            credential_id: The credential id in base64url.
        """
        record = await self.for_user(account_id)
        if record is None:
            return None
        for passkey in record.passkeys:
            if same_text(passkey.credential_id, credential_id):
                return passkey
        return None

    async def add(self, account_id: str, passkey: StoredPasskey, *, limit: int) -> str | None:
        """Save ``passkey`` for ``account_id``.

        The index entry is claimed first, so one credential can never belong to two
        accounts even when both register it at the same time.

        Args:
            account_id: The user id as text.
            passkey: The verified passkey to save.
            limit: Maximum number of passkeys one account may have.

        Returns:
            ``None`` when saved, ``"duplicate"`` when the credential is already
            registered, or ``"limit"`` when the account has ``limit`` passkeys.
        """
        index_key = credential_key(passkey.credential_id)
        claimed = await self.store.set_if_absent(
            index_key,
            CredentialOwner(account_id=account_id),
            expiration=PASSKEY_RECORD_TTL_SECONDS,
        )
        if not claimed:
            return "duplicate"
        outcome: dict[str, str | None] = {"refusal": None}

        def append(record: UserPasskeys) -> None:
            kept = [p for p in record.passkeys if p.credential_id != passkey.credential_id]
            outcome["refusal"] = "limit" if len(kept) >= limit else None
            if outcome["refusal"] is None:
                record.passkeys = [*kept, passkey]

        await self.ensure_user(account_id)
        updated = await self.store.modify(
            _user_key(account_id),
            UserPasskeys,
            append,
            expiration=PASSKEY_RECORD_TTL_SECONDS,
        )
        if updated is None or outcome["refusal"] is not None:
            # No partial write: the claimed index entry goes with the refused passkey.
            await self.store.delete(index_key)
            return outcome["refusal"] or "limit"
        return None

    async def remove(self, account_id: str, passkey_id: str) -> StoredPasskey | None:
        """Delete ``account_id``'s passkey with public id ``passkey_id``.

        Args:
            account_id: The user id as text.
            passkey_id: The passkey's public id.

        Returns:
            The removed passkey, or ``None`` when the account has none with that id.
        """
        removed: dict[str, StoredPasskey | None] = {"passkey": None}

        def drop(record: UserPasskeys) -> None:
            removed["passkey"] = None
            kept = []
            for passkey in record.passkeys:
                if same_text(passkey.id, passkey_id):
                    removed["passkey"] = passkey
                else:
                    kept.append(passkey)
            record.passkeys = kept

        await self.store.modify(
            _user_key(account_id), UserPasskeys, drop, expiration=PASSKEY_RECORD_TTL_SECONDS
        )
        passkey = removed["passkey"]
        if passkey is not None:
            await self.store.delete(credential_key(passkey.credential_id))
        return passkey

    async def record_use(self, account_id: str, credential_id: str, sign_count: int) -> None:
        """Store a sign-in's signature counter and time; counters only ever rise.

        The record's and the index entry's TTLs are renewed.

        Args:
            account_id: The user id as text.
            credential_id: The credential id in base64url.
            sign_count: The authenticator's signature counter.
        """
        now = datetime.now(timezone.utc)

        def stamp(record: UserPasskeys) -> None:
            for passkey in record.passkeys:
                if passkey.credential_id == credential_id:
                    passkey.sign_count = max(passkey.sign_count, sign_count)
                    passkey.last_used_at = now

        await self.store.modify(
            _user_key(account_id), UserPasskeys, stamp, expiration=PASSKEY_RECORD_TTL_SECONDS
        )
        # The index entry's TTL is renewed with the record's.
        await self.store.extend(credential_key(credential_id), PASSKEY_RECORD_TTL_SECONDS)
