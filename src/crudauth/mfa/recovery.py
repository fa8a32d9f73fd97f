"""Recovery codes: generation, hashing and reading the stored hash list."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets

from crudauth.mfa.constants import (
    RECOVERY_CODE_ALPHABET,
    RECOVERY_CODE_COUNT,
    RECOVERY_CODE_GROUP_LENGTH,
    RECOVERY_CODE_GROUPS,
)

__all__ = [
    "dump_hashes",
    "generate_recovery_codes",
    "hash_recovery_code",
    "hash_recovery_codes",
    "load_hashes",
    "normalize_recovery_code",
]

logger = logging.getLogger("crudauth.mfa")

_SHA256_HEX_LENGTH = 64


def generate_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Return ``count`` new codes such as ``abcd-efgh-jkmn-pqrs``, drawn uniformly.

    The alphabet leaves out look-alike characters (``i``, ``l``, ``o``, ``0``, ``1``).

    Args:
        count: Number of codes.
    """
    codes = []
    for _ in range(count):
        groups = [
            "".join(
                secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_GROUP_LENGTH)
            )
            for _ in range(RECOVERY_CODE_GROUPS)
        ]
        codes.append("-".join(groups))
    return codes


def normalize_recovery_code(code: str) -> str:
    """Return ``code`` lower-cased with spaces and hyphens removed.

    Args:
        code: The code as typed.
    """
    return code.lower().replace(" ", "").replace("-", "")


def hash_recovery_code(code: str) -> str:
    """Return the lower-case SHA-256 hex digest of the normalized ``code``.

    A fast hash is enough, because a code carries about 78 random bits (16 characters
    from 30), so the digest cannot be reversed by guessing.

    Args:
        code: The code as typed or generated.
    """
    return hashlib.sha256(normalize_recovery_code(code).encode("utf-8")).hexdigest()


def hash_recovery_codes(codes: list[str]) -> list[str]:
    """Return the digest of every code, in order.

    Args:
        codes: The plain codes.
    """
    return [hash_recovery_code(code) for code in codes]


def dump_hashes(hashes: list[str]) -> str:
    """Return the JSON text stored in the recovery-code column.

    Args:
        hashes: The digests to store.
    """
    return json.dumps(hashes)


def load_hashes(stored: str | None) -> list[str]:
    """Return the stored digests; an empty list when the value is missing or malformed.

    A malformed value is logged and treated as "no codes", so it can never make a
    guess succeed. Entries that are not 64-character strings are dropped.

    Args:
        stored: The recovery-code column's value, or ``None``.
    """
    if not stored:
        return []
    try:
        value = json.loads(stored)
    except ValueError:
        logger.error("stored recovery codes are not valid JSON; treating them as none")
        return []
    if not isinstance(value, list):
        logger.error("stored recovery codes are not a JSON list; treating them as none")
        return []
    return [entry for entry in value if isinstance(entry, str) and len(entry) == _SHA256_HEX_LENGTH]
