"""Token families: the server-side record of one bearer device and its refresh chain.

A ``/token`` sign-in starts a family. The refresh token names the family and the
current rotation; each ``/refresh`` replaces the rotation. The store keeps only HMAC
digests: the record's key is an HMAC of the family id and the rotation fields are HMACs
of rotation ids, so someone who reads the store cannot present what they read.

The next rotation id is derived from the presented one with the key secret. Two
refreshes that race from one client therefore get the same new refresh token, and the
family never forks.

The records are in ``family_records``, and listing and revoking a user's families is
in ``family_revocation``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from crudauth.storage.base import AbstractSessionStorage
from crudauth.transports.bearer.family_records import FamilyRotation as FamilyRotation
from crudauth.transports.bearer.family_records import StoredFamily as StoredFamily
from crudauth.transports.bearer.family_records import TokenFamily as TokenFamily
from crudauth.transports.bearer.family_revocation import FamilyRevocation
from crudauth.transports.session.keys import same_text
from crudauth.utils.key_rotation import KeyRing, encode_client_value, find_and_migrate

__all__ = ["FamilyRotation", "TokenFamilies", "TokenFamily"]


FAMILY_KEY_CONTEXT = b"crudauth.token-family:"
ROTATION_DIGEST_CONTEXT = b"crudauth.token-rotation:"
NEXT_ROTATION_CONTEXT = b"crudauth.token-next-rotation:"
FAMILY_ID_BYTES = 24
HANDLE_BYTES = 16


class TokenFamilies(FamilyRevocation):
    """Create, rotate, list and revoke token families in a storage-port store.

    ``BearerTransport`` builds one from its refresh settings. Store failures propagate
    as ``StoreUnavailableError`` from every method that reads or writes the store.

    Args:
        storage: The store of family records.
        key_secret: The secret that derives storage keys, rotation digests and the
            next rotation id.
        ttl_seconds: The refresh lifetime. Every rotation moves the family's expiry
            to that far from now.
        grace_seconds: How long the rotation just replaced may still be presented by
            a racing refresh.
        previous_secrets: Retired secrets. Families stored under them are still
            found, verified and moved to the current key.
    """

    def __init__(
        self,
        storage: AbstractSessionStorage[Any],
        *,
        key_secret: str,
        ttl_seconds: int,
        grace_seconds: float,
        previous_secrets: Sequence[str] = (),
    ) -> None:
        self.storage = storage
        self.ttl_seconds = ttl_seconds
        self.grace = timedelta(seconds=grace_seconds)
        self._secret = key_secret.encode()
        # Retired secrets still find and verify families, so a key rotation signs no
        # device out. A family found under a retired key moves to the current one.
        self._keys = KeyRing(key_secret, previous_secrets)

    def _now(self) -> datetime:
        """Return the current UTC time; tests override this to move the clock."""
        return datetime.now(timezone.utc)

    # -- keys and digests ------------------------------------------------------------

    def family_key(self, family_id: str) -> str:
        """Return the storage key of a raw family id.

        Args:
            family_id: The raw family id from the refresh token.

        Returns:
            The hex HMAC-SHA256 of the id under the current secret.
        """
        return self._mac(FAMILY_KEY_CONTEXT, family_id)

    def _rotation_digest(self, family_id: str, rotation_id: str) -> str:
        return self._mac(ROTATION_DIGEST_CONTEXT, f"{family_id}:{rotation_id}")

    def _is_rotation(self, family_id: str, rotation_id: str, digest: str | None) -> bool:
        """Return whether ``digest`` is the digest of ``rotation_id`` under any key."""
        if digest is None:
            return False
        return self._keys.matches(ROTATION_DIGEST_CONTEXT, f"{family_id}:{rotation_id}", digest)

    async def _locate(self, family_id: str) -> TokenFamily | None:
        """Read the family under the current key, else move it from a retired key."""
        key = self.family_key(family_id)
        record: TokenFamily | None = await self.storage.get(key, TokenFamily)
        if record is not None or not self._keys.previous:
            return record
        found = await find_and_migrate(
            self.storage,
            TokenFamily,
            key,
            self._keys.derive_previous(FAMILY_KEY_CONTEXT, family_id),
            expiration=self._remaining_seconds,
        )
        return found[1] if found is not None else None

    def _remaining_seconds(self, record: TokenFamily) -> int:
        return max(1, int((record.expires_at - self._now()).total_seconds()))

    def _next_rotation_id(self, family_id: str, rotation_id: str) -> str:
        digest = hmac.new(
            self._secret,
            NEXT_ROTATION_CONTEXT + encode_client_value(f"{family_id}:{rotation_id}"),
            hashlib.sha256,
        ).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def _mac(self, context: bytes, value: str) -> str:
        message = context + encode_client_value(value)
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    # -- lifecycle -------------------------------------------------------------------

    async def start(
        self,
        user_id: Any,
        *,
        scopes: list[str],
        token_version: int | None,
        ip_address: str = "",
        user_agent: str = "",
        device_info: dict[str, Any] | None = None,
    ) -> tuple[str, str, TokenFamily]:
        """Store a new family with a random id, first rotation id and handle.

        Args:
            user_id: Primary key of the user.
            scopes: Scopes granted to the family.
            token_version: The user's credential epoch to bind the family to, or
                ``None`` to leave it unbound.
            ip_address: Client IP at sign-in.
            user_agent: User-Agent header at sign-in.
            device_info: Device fields parsed from ``user_agent``, copied.

        Returns:
            ``(family_id, rotation_id, record)``: the raw ids that go into the
            refresh token, and the stored record.

        Raises:
            StoreUnavailableError: The store did not respond.
        """
        family_id = secrets.token_urlsafe(FAMILY_ID_BYTES)
        rotation_id = secrets.token_urlsafe(FAMILY_ID_BYTES)
        now = self._now()
        record = TokenFamily(
            user_id=user_id,
            handle=secrets.token_hex(HANDLE_BYTES),
            ip_address=ip_address,
            user_agent=user_agent,
            device_info=dict(device_info or {}),
            scopes=scopes,
            created_at=now,
            last_used=now,
            expires_at=now + timedelta(seconds=self.ttl_seconds),
            token_version=token_version,
            rotation_digest=self._rotation_digest(family_id, rotation_id),
        )
        await self.storage.create(
            record, session_id=self.family_key(family_id), expiration=self.ttl_seconds
        )
        return family_id, rotation_id, record

    async def get_live(self, family_id: str) -> TokenFamily | None:
        """Read the live family of a raw family id.

        A family stored under the current secret's key costs one store read. On a miss
        the keys under retired secrets are tried, and a family found there is moved.

        Args:
            family_id: The raw family id.

        Returns:
            The record, or ``None`` when the id is empty, unknown or past its expiry.

        Raises:
            StoreUnavailableError: The store did not respond.
        """
        if not family_id:
            return None
        record = await self._locate(family_id)
        if record is None or record.expires_at <= self._now():
            return None
        return record

    async def rotate(self, family_id: str, rotation_id: str) -> FamilyRotation:
        """Replace the family's rotation if ``rotation_id`` is its current one.

        The check and the write are one ``modify`` of the store. A refresh token
        rotated longer ago than the grace window means two holders share the chain,
        so the family is deleted and ``"reused"`` returned. A family past its expiry
        is never extended.

        Args:
            family_id: The raw family id from the refresh token.
            rotation_id: The raw rotation id from the refresh token.

        Returns:
            The outcome, with the new rotation id for ``"rotated"`` and ``"grace"``.

        Raises:
            StoreUnavailableError: The store did not respond.
        """
        key = self.family_key(family_id)
        await self._locate(family_id)
        successor = self._next_rotation_id(family_id, rotation_id)
        successor_digest = self._rotation_digest(family_id, successor)
        now = self._now()
        outcome: list[Literal["rotated", "grace", "reused", "missing"]] = []

        def advance(record: TokenFamily) -> None:
            # modify may run this more than once: the outcome of the last run counts.
            outcome.clear()
            if record.expires_at <= now:
                # An expired family is never extended by a late refresh.
                outcome.append("missing")
            elif self._is_rotation(family_id, rotation_id, record.rotation_digest):
                record.previous_digest = record.rotation_digest
                record.rotation_digest = successor_digest
                record.rotated_at = now
                record.last_used = now
                record.expires_at = now + timedelta(seconds=self.ttl_seconds)
                outcome.append("rotated")
            elif self._within_grace(record, family_id, rotation_id, successor_digest, now):
                outcome.append("grace")
            else:
                outcome.append("reused")

        record: TokenFamily | None = await self.storage.modify(
            key, TokenFamily, advance, expiration=self.ttl_seconds
        )
        if record is None or not outcome:
            return FamilyRotation("missing")
        status = outcome[0]
        if status == "missing":
            # The write above restarted the store TTL, so the expired family goes now
            # instead of lingering for another refresh lifetime.
            await self.storage.delete(key, user_id=record.user_id)
            return FamilyRotation("missing")
        if status == "reused":
            await self.storage.delete(key, user_id=record.user_id)
            return FamilyRotation("reused", family=record)
        return FamilyRotation(status, rotation_id=successor, family=record)

    def _within_grace(
        self,
        record: TokenFamily,
        family_id: str,
        rotation_id: str,
        successor_digest: str,
        now: datetime,
    ) -> bool:
        """Return whether ``rotation_id`` is the rotation replaced within the grace.

        The current rotation must also be the one derived from it; otherwise the
        family moved on twice since, and the presented token is stale.
        """
        if record.previous_digest is None or record.rotated_at is None:
            return False
        if now - record.rotated_at > self.grace:
            return False
        # NOTE: a successor derived under a retired secret differs from this one, so two
        # refreshes racing across the moment of a key rotation count as a reuse.
        return self._is_rotation(family_id, rotation_id, record.previous_digest) and same_text(
            record.rotation_digest, successor_digest
        )

    async def rebind(self, family_id: str, token_version: int) -> bool:
        """Bind a stored family to the credential epoch ``token_version``.

        The family's expiry is kept.

        Args:
            family_id: The raw family id.
            token_version: The user's new ``token_version``.

        Returns:
            ``True`` when the family was found and changed.

        Raises:
            StoreUnavailableError: The store did not respond.
        """

        def bind(record: TokenFamily) -> None:
            record.token_version = token_version

        await self._locate(family_id)
        updated = await self.storage.modify(
            self.family_key(family_id), TokenFamily, bind, reset_expiration=False
        )
        return updated is not None
