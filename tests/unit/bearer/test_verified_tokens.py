"""VerifiedTokens: a repeated token skips the signature check, and nothing else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest

from clock_support import START, FrozenClock
from crudauth.transports.bearer import tokens
from crudauth.transports.bearer.signatures import VerifiedTokens
from crudauth.transports.bearer.tokens import (
    TokenType,
    create_access_token,
    create_refresh_token,
    verify_token,
)

SECRET = "current-signing-key-with-64-characters-0123456789abcdef0123456789"


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every token PyJWT decodes."""
    seen: list[str] = []
    original = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return original(token, *args, **kwargs)

    monkeypatch.setattr(tokens.jwt, "decode", counting)
    return seen


def test_repeated_token_decoded_once(clock: FrozenClock, decodes: list[str]) -> None:
    verified = VerifiedTokens()
    token = create_access_token({"sub": "42"}, SECRET)

    first = verify_token(token, SECRET, TokenType.ACCESS, verified=verified)
    second = verify_token(token, SECRET, TokenType.ACCESS, verified=verified)

    assert first is not None
    assert second == first
    assert decodes == [token]


def test_cached_token_still_expires(clock: FrozenClock) -> None:
    verified = VerifiedTokens()
    token = create_access_token({"sub": "42"}, SECRET, expires_delta=timedelta(seconds=900))
    assert verify_token(token, SECRET, TokenType.ACCESS, verified=verified) is not None

    clock.now = START + 900

    assert verify_token(token, SECRET, TokenType.ACCESS, verified=verified) is None


def test_cached_token_keeps_type_check(clock: FrozenClock) -> None:
    verified = VerifiedTokens()
    token = create_refresh_token({"sub": "42"}, SECRET)
    assert verify_token(token, SECRET, TokenType.REFRESH, verified=verified) is not None

    assert verify_token(token, SECRET, TokenType.ACCESS, verified=verified) is None


def test_tampered_token_never_cached(clock: FrozenClock, decodes: list[str]) -> None:
    verified = VerifiedTokens()
    token = create_access_token({"sub": "42"}, SECRET)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    assert verify_token(tampered, SECRET, TokenType.ACCESS, verified=verified) is None
    assert verify_token(tampered, SECRET, TokenType.ACCESS, verified=verified) is None
    assert len(verified) == 0
    assert decodes == [tampered, tampered]


def test_returned_claims_are_copies(clock: FrozenClock) -> None:
    verified = VerifiedTokens()
    token = create_access_token({"sub": "42"}, SECRET)
    claims = verify_token(token, SECRET, TokenType.ACCESS, verified=verified)
    assert claims is not None

    claims["sub"] = "7"

    again = verify_token(token, SECRET, TokenType.ACCESS, verified=verified)
    assert again is not None
    assert again["sub"] == "42"


def test_least_recent_token_evicted() -> None:
    verified = VerifiedTokens(max_entries=2)
    for name in ("a", "b", "c"):
        verified.put(name, {"sub": name})

    assert len(verified) == 2
    assert verified.get("a") is None
    assert verified.get("c") == {"sub": "c"}
