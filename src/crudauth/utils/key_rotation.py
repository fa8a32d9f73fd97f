"""Storage keys derived from ``SECRET_KEY`` that survive a key rotation.

Records stored under an HMAC of a client-held value (session ids, CSRF tokens,
refresh-token family ids) would vanish when ``SECRET_KEY`` changes, signing everyone
out. ``KeyRing`` derives such keys under the current secret and under each retired
one, and ``find_and_migrate`` looks a record up under the retired keys only after the
current key missed, then moves it to the current key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from crudauth.storage.base import AbstractSessionStorage

__all__ = ["KeyRing", "encode_client_value", "find_and_migrate"]

logger = logging.getLogger("crudauth.keys")

M = TypeVar("M", bound=BaseModel)


class KeyRing:
    """HMAC-SHA256 key derivation under a current secret and retired ones.

    Args:
        secret: The current ``SECRET_KEY``.
        previous: Retired secrets, newest first; empty values and a repeat of
            ``secret`` are dropped.
    """

    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        self.current = secret.encode()
        self.previous = tuple(key.encode() for key in previous if key and key != secret)

    def derive(self, context: bytes, value: str) -> str:
        """Return the hex HMAC of ``context + value`` under the current secret.

        Args:
            context: A fixed label that separates one kind of key from another.
            value: The client-held value, such as a session id.
        """
        return _hmac_hex(self.current, context, value)

    def derive_previous(self, context: bytes, value: str) -> list[str]:
        """Return the keys ``value`` had under each retired secret, newest first.

        Args:
            context: A fixed label that separates one kind of key from another.
            value: The client-held value.
        """
        return [_hmac_hex(secret, context, value) for secret in self.previous]

    def matches(self, context: bytes, value: str, expected: str) -> bool:
        """Return whether ``expected`` is the key of ``value`` under any known secret.

        Every secret is tried, so the time taken does not reveal which one matched.

        Args:
            context: A fixed label that separates one kind of key from another.
            value: The client-held value.
            expected: The key to compare against, as hex text.
        """
        expected_bytes = encode_client_value(expected)
        matched = False
        for secret in (self.current, *self.previous):
            candidate = _hmac_hex(secret, context, value).encode()
            matched = hmac.compare_digest(candidate, expected_bytes) or matched
        return matched


def encode_client_value(value: str) -> bytes:
    """Return the UTF-8 bytes of a client-held value, lone surrogates included.

    Any ``str`` encodes, and distinct strings give distinct bytes.

    Args:
        value: The value, as received from the client.
    """
    # "surrogateescape" raises on lone surrogates outside U+DC80..U+DCFF, which a JSON
    # string may contain, so "surrogatepass" stops such input from causing a 500.
    return value.encode("utf-8", "surrogatepass")


def _hmac_hex(secret: bytes, context: bytes, value: str) -> str:
    message = context + encode_client_value(value)
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


async def find_and_migrate(
    storage: AbstractSessionStorage[Any],
    model_class: type[M],
    current_key: str,
    previous_keys: Sequence[str],
    *,
    expiration: Callable[[M], int],
    rewrite: Callable[[M, str], None] | None = None,
    after_move: Callable[[str, str, M], Awaitable[None]] | None = None,
) -> tuple[str, M] | None:
    """Find a record stored under a retired key and move it to ``current_key``.

    Call it only after a read of ``current_key`` missed, so the common path stays one
    read. The record is first created under ``current_key`` with ``set_if_absent`` and
    listed in the store's per-user index, and only then is the old key deleted. A
    racing request therefore always finds the record under one of the two keys. The
    loser of two concurrent migrations reads the winner's copy.

    Args:
        storage: The store holding the records.
        model_class: The record model.
        current_key: The key under the current secret.
        previous_keys: The keys under retired secrets, newest first.
        expiration: The TTL in seconds to give the moved record.
        rewrite: Updates fields that name the record's own key (called with the new
            key) before it is stored.
        after_move: Awaited with ``(old_key, new_key, record)`` once the record lives
            under ``current_key``, to move what points at the old key.

    Returns:
        ``(current_key, record)``, or ``None`` when no retired key has a record.
    """
    for old_key in previous_keys:
        record = await storage.get(old_key, model_class)
        if record is None:
            continue
        if rewrite is not None:
            rewrite(record, current_key)
        created = await storage.set_if_absent(current_key, record, expiration=expiration(record))
        if not created:
            # Another request migrated it first; its copy is the one to use.
            winner = await storage.get(current_key, model_class)
            if winner is not None:
                return current_key, winner
            continue
        if after_move is not None:
            await after_move(old_key, current_key, record)
        await storage.delete(old_key, user_id=getattr(record, "user_id", None))
        logger.debug("record moved to the current secret's key")
        return current_key, record

    if not previous_keys:
        return None
    # A concurrent migration may have finished between the caller's read of the current
    # key and the reads above: one more read closes that window.
    record = await storage.get(current_key, model_class)
    return (current_key, record) if record is not None else None
