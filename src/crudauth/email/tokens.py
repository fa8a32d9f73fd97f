"""Signed, purpose-bound, state-bound and single-use recovery tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from crudauth.constants import SECONDS_PER_HOUR
from crudauth.email.constants import (
    MAX_TOKEN_LENGTH,
    STATE_CLAIM,
    STATE_DIGEST_CHARS,
    TOKEN_ID_BYTES,
    TOKEN_ID_CLAIM,
)
from crudauth.storage.base import AbstractSessionStorage
from crudauth.transports.bearer.tokens import create_signed_token, verify_signed_token_full

__all__ = ["RecoveryTokens", "UsedToken"]


class UsedToken(BaseModel):
    """Marker stored under the SHA-256 of a redeemed token.

    Attributes:
        used: Always ``True``; the record's presence is what counts.
    """

    used: bool = True


class RecoveryTokens:
    """Mint, verify and redeem recovery tokens.

    A token carries a ``state`` claim, an HMAC over account values (such as the
    password hash), so it dies as soon as one of them changes.

    Args:
        secret_key: Signs new tokens and keys their state digest.
        algorithm: The JWT signing algorithm.
        previous_keys: Retired secrets whose tokens still verify after a key rotation.
        store: Records redeemed tokens; ``None`` means no single-use guard.
    """

    def __init__(
        self,
        secret_key: str,
        *,
        algorithm: str,
        previous_keys: Sequence[str] = (),
        store: AbstractSessionStorage[Any] | None = None,
    ) -> None:
        self.secret_key = secret_key
        self.algorithm = algorithm
        self.keys: tuple[str, ...] = (secret_key, *previous_keys)
        self.store = store

    @staticmethod
    def _state_digest(key: str, purpose: str, values: Sequence[Any]) -> str:
        message = json.dumps([purpose, *values], default=str, separators=(",", ":"))
        digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()
        return digest[:STATE_DIGEST_CHARS]

    def mint(
        self,
        user_id: Any,
        purpose: str,
        *,
        ttl_hours: float,
        state: Sequence[Any],
        extra_claims: dict[str, Any] | None = None,
    ) -> str:
        """Sign a token for ``user_id`` bound to ``purpose`` and to ``state``.

        Args:
            user_id: The account's primary key.
            purpose: The flow, such as ``"reset_password"``; other flows reject it.
            ttl_hours: Lifetime in hours.
            state: Account values whose change kills the token.
            extra_claims: More claims to sign into the token.

        Returns:
            The signed token.
        """
        claims = dict(extra_claims or {})
        claims[STATE_CLAIM] = self._state_digest(self.secret_key, purpose, state)
        # A random id makes two links minted in the same second distinct, so redeeming
        # one never marks the other as used.
        claims[TOKEN_ID_CLAIM] = secrets.token_urlsafe(TOKEN_ID_BYTES)
        return create_signed_token(
            self.secret_key,
            user_id,
            purpose,
            expires_hours=ttl_hours,
            algorithm=self.algorithm,
            extra_claims=claims,
        )

    def verify(self, token: str, purpose: str) -> dict[str, Any] | None:
        """Return the claims of a valid, unexpired token of ``purpose``, else None.

        The signature is checked under the current and every previous key. The state
        claim and single use are not checked here.

        Args:
            token: The token as received.
            purpose: The flow the token must be minted for.
        """
        # Oversized input is rejected before any parsing work.
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        return verify_signed_token_full(token, list(self.keys), purpose, algorithm=self.algorithm)

    def state_matches(self, claims: dict[str, Any], purpose: str, state: Sequence[Any]) -> bool:
        """Return whether the token's ``state`` claim matches the account as it is now.

        Every key is tried, so tokens minted before a key rotation stay redeemable.

        Args:
            claims: The verified claims.
            purpose: The flow the token was minted for.
            state: The account values as they are now.
        """
        presented = claims.get(STATE_CLAIM)
        if not isinstance(presented, str):
            return False
        matched = False
        for key in self.keys:
            expected = self._state_digest(key, purpose, state)
            # Constant-time compare, so the digest cannot be guessed byte by byte.
            matched |= hmac.compare_digest(presented.encode(), expected.encode())
        return matched

    async def consume(self, token: str, ttl_hours: float) -> bool:
        """Mark ``token`` redeemed; return False when it already was.

        One atomic ``set_if_absent``, so of two concurrent redemptions exactly one wins.
        The marker outlives the token, whose lifetime is at most ``ttl_hours``.

        Args:
            token: The token being redeemed.
            ttl_hours: The token's lifetime, used as the marker's.

        Returns:
            ``True`` for the first redemption, or always when there is no store.

        Raises:
            StoreUnavailableError: The store is unreachable.
        """
        if self.store is None:
            return True
        key = hashlib.sha256(token.encode()).hexdigest()
        ttl_seconds = max(1, int(ttl_hours * SECONDS_PER_HOUR))
        return await self.store.set_if_absent(key, UsedToken(), expiration=ttl_seconds)
