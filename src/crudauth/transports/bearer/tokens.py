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
from crudauth.utils.validation_errors import is_utf8_encodable

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

    A ``sub`` in ``data`` is written as a string, the only form verifiers accept.

    Args:
        data: Claims to sign, usually ``sub``. Its ``exp`` and ``token_type`` are
            overwritten.
        secret_key: The signing key.
        expires_delta: Lifetime of the token, 15 minutes when ``None``.
        algorithm: The JWT signing algorithm.
        scopes: Scopes for the ``scopes`` claim, which is left out when ``None``.

    Returns:
        The encoded token.

    Example:
        ```python
        token = create_access_token({"sub": user.id}, secret_key, scopes=["read"])
        claims = verify_token(token, secret_key, TokenType.ACCESS)
        ```
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
    """Sign a refresh token: ``data`` plus ``exp`` and ``token_type``.

    A ``sub`` in ``data`` is written as a string, the only form verifiers accept.

    Args:
        data: Claims to sign, usually ``sub``. Its ``exp`` and ``token_type`` are
            overwritten.
        secret_key: The signing key.
        expires_delta: Lifetime of the token, 30 days when ``None``.
        algorithm: The JWT signing algorithm.

    Returns:
        The encoded token.
    """
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
    """Verify a bearer token and check its type, expiry and subject.

    Args:
        token: The encoded token.
        secret_key: The current key, or the current key followed by earlier ones.
        expected_token_type: ``TokenType.ACCESS`` or ``TokenType.REFRESH``, or its
            string value.
        algorithm: The one accepted algorithm.
        verified: Tokens whose signature already verified; a hit skips the signature
            check and decoding, and every other check still runs.

    Returns:
        The claims, or ``None`` for a bad signature, a malformed token, another
        algorithm, an expired token, another ``token_type``, a missing or empty
        ``sub``, or a purpose-bound recovery token.

    Raises:
        ValueError: ``expected_token_type`` is not a token type, or ``secret_key`` is
            an empty sequence.
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
    "just expired" and gives ``False``, as does a valid unexpired token. The token type
    is not checked.

    Args:
        token: The encoded token.
        secret_key: The current key, or the current key followed by earlier ones.
        algorithm: The one accepted algorithm.

    Returns:
        ``True`` only for a genuine token past its expiry.

    Raises:
        ValueError: ``secret_key`` is an empty sequence.
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

    Such a token is never accepted as a bearer credential, and a verifier redeems it
    only for the same ``purpose``.

    Args:
        secret_key: The signing key.
        user_id: The user the token is for, written to ``sub`` as a string.
        purpose: Name of the flow that may redeem the token.
        expires_hours: Lifetime of the token, in hours.
        algorithm: The JWT signing algorithm.
        extra_claims: Further claims to sign.

    Returns:
        The encoded token.

    Raises:
        ValueError: ``extra_claims`` names ``sub``, ``purpose``, ``exp`` or
            ``token_type``, which this function sets itself.

    Example:
        ```python
        token = create_signed_token(secret_key, user.id, "invite", expires_hours=48)
        user_id = verify_signed_token(token, secret_key, "invite")
        ```
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
    """Verify a token from ``create_signed_token`` and return all of its claims.

    Args:
        token: The encoded token.
        secret_key: The current key, or the current key followed by earlier ones.
        purpose: The purpose the token must be bound to.
        algorithm: The one accepted algorithm.

    Returns:
        The claims, or ``None`` when the token is malformed, badly signed, expired,
        bound to another purpose, or has a missing or empty ``sub``.

    Raises:
        ValueError: ``secret_key`` is an empty sequence.
    """
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
    """Verify a token from ``create_signed_token`` and return its subject.

    Args:
        token: The encoded token.
        secret_key: The current key, or the current key followed by earlier ones.
        purpose: The purpose the token must be bound to.
        algorithm: The one accepted algorithm.

    Returns:
        The ``sub`` claim (the user id as a string), or ``None`` when the token is
        malformed, badly signed, expired, bound to another purpose, or has a missing
        or empty ``sub``.

    Raises:
        ValueError: ``secret_key`` is an empty sequence.
    """
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

    ``None`` when the token is malformed (including text that cannot be encoded as
    UTF-8), names another algorithm, matches no key, or lacks a finite numeric ``exp``.
    """
    keys = _verification_keys(secret_key)
    # PyJWT raises UnicodeEncodeError on a lone surrogate, which a JSON string may
    # contain, so rejecting it here stops a bad token from causing a 500.
    if not is_utf8_encodable(token):
        return None
    for key in keys:
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
