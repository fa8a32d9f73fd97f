"""Mint and verify the JSON Web Tokens of the bearer transport and the recovery flows.

Every verifier accepts exactly one algorithm, the one it is given, so a token whose
header names ``none`` or another algorithm is rejected before its signature is read.
Verifiers take one secret key or a sequence of keys: the first key is the current one,
and the rest are earlier keys still accepted after a rotation. Tokens are only ever
signed with a single key.

Expiry is checked here rather than by PyJWT, against ``time.time()`` read at call time,
so tests can replace this module's ``time`` attribute to freeze the clock. As RFC 7519
section 4.1.4 requires, a token is expired from the second named by its ``exp`` claim.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from enum import Enum
from typing import Any

import jwt

from crudauth.constants import (
    DEFAULT_ACCESS_TTL_SECONDS,
    DEFAULT_ALGORITHM,
    DEFAULT_REFRESH_TTL_DAYS,
    SECONDS_PER_HOUR,
)
from crudauth.transports.bearer.constants import (
    DEFAULT_SIGNED_TOKEN_HOURS,
    EXPIRY_CLAIM,
    PURPOSE_CLAIM,
    SCOPES_CLAIM,
    SUBJECT_CLAIM,
    TOKEN_TYPE_CLAIM,
)
from crudauth.transports.bearer.signatures import VerifiedTokens

__all__ = [
    "TokenType",
    "create_access_token",
    "create_refresh_token",
    "create_signed_token",
    "is_expired_token",
    "verify_signed_token",
    "verify_signed_token_full",
    "verify_token",
]

# One key, or the current key followed by the earlier keys that still verify.
SecretKeys = str | Sequence[str]

_SIGNED_TOKEN_RESERVED_CLAIMS = frozenset(
    {SUBJECT_CLAIM, PURPOSE_CLAIM, EXPIRY_CLAIM, TOKEN_TYPE_CLAIM}
)


class TokenType(str, Enum):
    """The two kinds of bearer token, stored in the ``token_type`` claim."""

    ACCESS = "access"
    REFRESH = "refresh"


def create_access_token(
    data: Mapping[str, Any],
    secret_key: str,
    *,
    expires_delta: timedelta | None = None,
    algorithm: str = DEFAULT_ALGORITHM,
    scopes: Iterable[str] | None = None,
) -> str:
    """Sign an access token: ``data`` plus ``exp``, ``token_type`` and ``scopes``.

    ``exp`` defaults to 15 minutes from now. ``scopes`` is written only when given. A
    ``sub`` in ``data`` is written as a string, the only form verifiers accept.
    """
    if expires_delta is None:
        expires_delta = timedelta(seconds=DEFAULT_ACCESS_TTL_SECONDS)
    claims = _claims_from(data)
    claims[EXPIRY_CLAIM] = _expiry_after(expires_delta)
    claims[TOKEN_TYPE_CLAIM] = TokenType.ACCESS.value
    if scopes is not None:
        claims[SCOPES_CLAIM] = list(scopes)
    return jwt.encode(claims, secret_key, algorithm=algorithm)


def create_refresh_token(
    data: Mapping[str, Any],
    secret_key: str,
    *,
    expires_delta: timedelta | None = None,
    algorithm: str = DEFAULT_ALGORITHM,
) -> str:
    """Sign a refresh token: ``data`` plus ``exp`` (30 days by default) and the type."""
    if expires_delta is None:
        expires_delta = timedelta(days=DEFAULT_REFRESH_TTL_DAYS)
    claims = _claims_from(data)
    claims[EXPIRY_CLAIM] = _expiry_after(expires_delta)
    claims[TOKEN_TYPE_CLAIM] = TokenType.REFRESH.value
    return jwt.encode(claims, secret_key, algorithm=algorithm)


def verify_token(
    token: str,
    secret_key: SecretKeys,
    expected_token_type: TokenType | str,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
    verified: VerifiedTokens | None = None,
) -> dict[str, Any] | None:
    """Return the claims of a valid token of the expected type, else ``None``.

    ``None`` covers a bad signature, a malformed token, another algorithm, an expired
    token, another ``token_type``, a missing or empty ``sub``, and a purpose-bound
    recovery token.

    Args:
        token: The encoded token.
        secret_key: The current key, or the current key followed by earlier ones.
        expected_token_type: ``TokenType.ACCESS`` or ``TokenType.REFRESH``.
        algorithm: The one accepted algorithm.
        verified: Tokens whose signature already verified; a hit skips the signature
            check and decoding, and every other check still runs.
    """
    expected = TokenType(expected_token_type)
    claims = verified.get(token) if verified is not None else None
    if claims is None:
        claims = _decode_signed(token, secret_key, algorithm)
        if claims is not None and verified is not None:
            verified.put(token, claims)
    if claims is None or _is_past_expiry(claims):
        return None

    # Stops a refresh token from acting as an access token, and the reverse.
    if claims.get(TOKEN_TYPE_CLAIM) != expected.value:
        return None
    # Stops a recovery-flow token from acting as a login credential.
    if PURPOSE_CLAIM in claims:
        return None
    if not _has_subject(claims):
        return None
    return claims


def is_expired_token(
    token: str,
    secret_key: SecretKeys,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
) -> bool:
    """Return whether the token is correctly signed and well-formed but past ``exp``.

    A tampered or malformed token, or an expired one with a wrong signature, is not
    "just expired" and gives ``False``, as does a valid unexpired token.
    """
    claims = _decode_signed(token, secret_key, algorithm)
    return claims is not None and _is_past_expiry(claims)


def create_signed_token(
    secret_key: str,
    user_id: Any,
    purpose: str,
    *,
    expires_hours: float = DEFAULT_SIGNED_TOKEN_HOURS,
    algorithm: str = DEFAULT_ALGORITHM,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Sign a token bound to ``purpose`` for ``user_id``, valid for ``expires_hours``.

    Raises ``ValueError`` when ``extra_claims`` names ``sub``, ``purpose``, ``exp`` or
    ``token_type``, which this function sets itself.
    """
    extras = dict(extra_claims or {})
    reserved = _SIGNED_TOKEN_RESERVED_CLAIMS.intersection(extras)
    if reserved:
        raise ValueError(
            f"extra_claims must not set the reserved claims {sorted(reserved)}; "
            "pass user_id, purpose and expires_hours instead"
        )

    claims = {
        **extras,
        SUBJECT_CLAIM: str(user_id),
        PURPOSE_CLAIM: purpose,
        EXPIRY_CLAIM: _expiry_after(timedelta(seconds=expires_hours * SECONDS_PER_HOUR)),
    }
    return jwt.encode(claims, secret_key, algorithm=algorithm)


def verify_signed_token_full(
    token: str,
    secret_key: SecretKeys,
    purpose: str,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
) -> dict[str, Any] | None:
    """Return the claims of a valid token minted for ``purpose``, else ``None``."""
    claims = _decode_signed(token, secret_key, algorithm)
    if claims is None or _is_past_expiry(claims):
        return None

    # Stops a token minted for one recovery flow from being redeemed in another.
    if claims.get(PURPOSE_CLAIM) != purpose:
        return None
    if not _has_subject(claims):
        return None
    return claims


def verify_signed_token(
    token: str,
    secret_key: SecretKeys,
    purpose: str,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
) -> str | None:
    """Return the ``sub`` of a valid token minted for ``purpose``, else ``None``."""
    claims = verify_signed_token_full(token, secret_key, purpose, algorithm=algorithm)
    if claims is None:
        return None
    subject: str = claims[SUBJECT_CLAIM]
    return subject


def _claims_from(data: Mapping[str, Any]) -> dict[str, Any]:
    claims = dict(data)
    if SUBJECT_CLAIM in claims:
        claims[SUBJECT_CLAIM] = str(claims[SUBJECT_CLAIM])
    return claims


def _expiry_after(delta: timedelta) -> int:
    return int(time.time() + delta.total_seconds())


def _verification_keys(secret_key: SecretKeys) -> tuple[str, ...]:
    if isinstance(secret_key, str):
        return (secret_key,)
    keys = tuple(secret_key)
    if not keys:
        raise ValueError("secret_key must be a key or a non-empty sequence of keys")
    return keys


def _decode_signed(token: str, secret_key: SecretKeys, algorithm: str) -> dict[str, Any] | None:
    """Return the claims of a token signed by one of the keys, ignoring its expiry.

    ``None`` when the token is malformed, names another algorithm, matches no key, or
    lacks a finite numeric ``exp``.
    """
    for key in _verification_keys(secret_key):
        try:
            # The one-entry allow-list rejects "alg: none" and algorithm substitution.
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                options={"verify_exp": False, "require": [EXPIRY_CLAIM]},
            )
        except jwt.InvalidSignatureError:
            # An earlier key of a rotation may have signed it.
            continue
        except jwt.InvalidTokenError:
            return None
        # Stops a token without a usable expiry from living forever.
        return claims if _has_finite_expiry(claims) else None
    return None


def _has_finite_expiry(claims: Mapping[str, Any]) -> bool:
    expiry = claims.get(EXPIRY_CLAIM)
    if isinstance(expiry, bool) or not isinstance(expiry, (int, float)):
        return False
    return math.isfinite(expiry)


def _is_past_expiry(claims: Mapping[str, Any]) -> bool:
    expiry: float = claims[EXPIRY_CLAIM]
    return time.time() >= expiry


def _has_subject(claims: Mapping[str, Any]) -> bool:
    subject = claims.get(SUBJECT_CLAIM)
    return isinstance(subject, str) and subject != ""
