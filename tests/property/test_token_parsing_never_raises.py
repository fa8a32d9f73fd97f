"""Token verification answers ``None`` or claims for any input, never an exception."""

from __future__ import annotations

import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from crudauth.transports.bearer.tokens import (
    TokenType,
    create_access_token,
    is_expired_token,
    verify_signed_token,
    verify_signed_token_full,
    verify_token,
)

BOUNDED = settings(max_examples=300, deadline=None)
KEY = "property-secret-key-long-enough-0123456789"
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: object) -> str:
    return b64(json.dumps(value, allow_nan=True).encode())


GARBAGE = st.one_of(
    st.text(max_size=200),
    st.lists(st.text(max_size=30), min_size=2, max_size=4).map(".".join),
    st.tuples(JSON_VALUES, JSON_VALUES, st.binary(max_size=40)).map(
        lambda parts: f"{segment(parts[0])}.{segment(parts[1])}.{b64(parts[2])}"
    ),
    st.tuples(
        st.dictionaries(st.sampled_from(["alg", "typ", "kid"]), JSON_VALUES, max_size=3),
        st.dictionaries(
            st.sampled_from(["sub", "exp", "token_type", "purpose", "scopes"]),
            JSON_VALUES,
            max_size=5,
        ),
    ).map(lambda parts: f"{segment(parts[0])}.{segment(parts[1])}."),
)


def check(token: str) -> None:
    for kind in TokenType:
        assert verify_token(token, KEY, kind) is None
    assert verify_token(token, [KEY, "other-key-0123456789012345678901234"], "access") is None
    assert is_expired_token(token, KEY) in (True, False)
    assert verify_signed_token(token, KEY, "reset") is None
    assert verify_signed_token_full(token, KEY, "reset") is None


@BOUNDED
@given(GARBAGE)
def test_garbage_never_verifies(token: str) -> None:
    check(token)


@BOUNDED
@given(st.integers(0, 200), st.binary(min_size=1, max_size=2))
def test_flipped_signature_never_verifies(position: int, noise: bytes) -> None:
    token = create_access_token({"sub": "42", "token_version": 0}, KEY)
    assert verify_token(token, KEY, "access") is not None
    header, payload, signature = token.split(".")
    index = position % len(signature)
    replacement = b64(noise)[:1]
    if replacement == signature[index]:
        return
    tampered = f"{header}.{payload}.{signature[:index]}{replacement}{signature[index + 1 :]}"
    # The last base64 character may carry only padding bits; decoding may equal.
    if base64.urlsafe_b64decode(signature + "==") == base64.urlsafe_b64decode(
        tampered.split(".")[2] + "=="
    ):
        return
    assert verify_token(tampered, KEY, "access") is None
