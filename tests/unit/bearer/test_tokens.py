"""Token primitives: minting, verification, expiry, tampering and algorithm pinning."""

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest

from clock_support import START, FrozenClock
from crudauth.transports.bearer.tokens import (
    TokenType,
    create_access_token,
    create_refresh_token,
    create_signed_token,
    is_expired_token,
    verify_signed_token,
    verify_signed_token_full,
    verify_token,
)

SECRET = "current-signing-key-with-64-characters-0123456789abcdef0123456789"
OLD_SECRET = "earlier-signing-key-with-64-characters-0123456789abcdef0123456789"
OTHER_SECRET = "unrelated-signing-key-64-characters-000000000000000000000000000000"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any]) -> str:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    return f"{header}.{payload}."


def access_claims() -> dict[str, Any]:
    return {"sub": "42", "ver": 0, "scopes": ["read"], "token_type": "access", "exp": START + 900}


def test_access_token_round_trip(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42", "ver": 3}, SECRET, scopes=["read", "write"])

    claims = verify_token(token, SECRET, TokenType.ACCESS)

    assert claims is not None
    assert claims["sub"] == "42"
    assert claims["ver"] == 3
    assert claims["scopes"] == ["read", "write"]
    assert claims["token_type"] == "access"
    assert claims["exp"] == int(START) + 900


def test_access_token_sub_written_as_string(clock: FrozenClock) -> None:
    token = create_access_token({"sub": 42}, SECRET)

    claims = verify_token(token, SECRET, "access")

    assert claims is not None
    assert claims["sub"] == "42"


def test_access_token_without_scopes_omits_claim(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "1"}, SECRET)

    claims = verify_token(token, SECRET, TokenType.ACCESS)

    assert claims is not None
    assert "scopes" not in claims


def test_access_token_does_not_change_input(clock: FrozenClock) -> None:
    data = {"sub": 7}

    create_access_token(data, SECRET)

    assert data == {"sub": 7}


def test_refresh_token_round_trip(clock: FrozenClock) -> None:
    token = create_refresh_token({"sub": "42", "scopes": ["read"]}, SECRET)

    claims = verify_token(token, SECRET, TokenType.REFRESH)

    assert claims is not None
    assert claims["token_type"] == "refresh"
    assert claims["scopes"] == ["read"]
    assert claims["exp"] == int(START) + 30 * 86400


def test_access_token_rejected_as_refresh(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, SECRET)

    assert verify_token(token, SECRET, TokenType.REFRESH) is None


def test_refresh_token_rejected_as_access(clock: FrozenClock) -> None:
    token = create_refresh_token({"sub": "42"}, SECRET)

    assert verify_token(token, SECRET, TokenType.ACCESS) is None


def test_unknown_token_type_raises() -> None:
    with pytest.raises(ValueError):
        verify_token("a.b.c", SECRET, "session")


def test_wrong_secret_rejected(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, OTHER_SECRET)

    assert verify_token(token, SECRET, TokenType.ACCESS) is None
    assert is_expired_token(token, SECRET) is False


def test_previous_key_still_verifies(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, OLD_SECRET)

    assert verify_token(token, [SECRET, OLD_SECRET], TokenType.ACCESS) is not None
    assert verify_token(token, [SECRET], TokenType.ACCESS) is None


def test_current_key_verifies_with_rotation_list(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, SECRET)

    assert verify_token(token, (SECRET, OLD_SECRET), TokenType.ACCESS) is not None


def test_empty_key_sequence_raises() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        verify_token("a.b.c", [], TokenType.ACCESS)


def test_access_token_valid_before_max_age(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, SECRET, expires_delta=timedelta(seconds=900))
    clock.now = START + 899

    assert verify_token(token, SECRET, TokenType.ACCESS) is not None
    assert is_expired_token(token, SECRET) is False


def test_access_token_expired_at_max_age(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, SECRET, expires_delta=timedelta(seconds=900))
    clock.now = START + 900

    assert verify_token(token, SECRET, TokenType.ACCESS) is None
    assert is_expired_token(token, SECRET) is True


def test_access_token_expired_after_max_age(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, SECRET, expires_delta=timedelta(seconds=900))
    clock.now = START + 901

    assert verify_token(token, SECRET, TokenType.ACCESS) is None
    assert is_expired_token(token, SECRET) is True


def test_refresh_token_expiry_boundary(clock: FrozenClock) -> None:
    token = create_refresh_token({"sub": "42"}, SECRET)
    max_age = 30 * 86400

    clock.now = START + max_age - 1
    assert verify_token(token, SECRET, TokenType.REFRESH) is not None

    clock.now = START + max_age
    assert verify_token(token, SECRET, TokenType.REFRESH) is None

    clock.now = START + max_age + 1
    assert verify_token(token, SECRET, TokenType.REFRESH) is None
    assert is_expired_token(token, SECRET) is True


def test_expired_token_with_previous_key_is_expired(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, OLD_SECRET)
    clock.now = START + 901

    assert is_expired_token(token, [SECRET, OLD_SECRET]) is True
    assert is_expired_token(token, [SECRET]) is False


def test_expired_token_with_wrong_secret_not_expired(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, OTHER_SECRET)
    clock.now = START + 901

    assert is_expired_token(token, SECRET) is False


def test_garbage_not_expired() -> None:
    assert is_expired_token("not-a-token", SECRET) is False
    assert is_expired_token("", SECRET) is False


def test_valid_token_not_expired(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, SECRET)

    assert is_expired_token(token, SECRET) is False


def test_tampered_payload_rejected(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, SECRET, scopes=["read"])
    header, _, signature = token.split(".")
    forged = dict(access_claims(), sub="1", scopes=["admin"])
    tampered = f"{header}.{b64url(json.dumps(forged).encode())}.{signature}"

    assert verify_token(tampered, SECRET, TokenType.ACCESS) is None
    assert is_expired_token(tampered, SECRET) is False


def test_tampered_signature_rejected(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, SECRET)
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    assert verify_token(f"{header}.{payload}.{flipped}", SECRET, TokenType.ACCESS) is None


def test_expired_tampered_token_not_expired(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, SECRET)
    header, _, signature = token.split(".")
    forged = dict(access_claims(), sub="1", exp=START - 10)
    tampered = f"{header}.{b64url(json.dumps(forged).encode())}.{signature}"

    assert is_expired_token(tampered, SECRET) is False


def test_malformed_tokens_rejected() -> None:
    for garbage in ["", "garbage", "a.b.c", "a.b", "....", "ünïcode.x.y"]:
        assert verify_token(garbage, SECRET, TokenType.ACCESS) is None, garbage


def test_surrogate_tokens_rejected(clock: FrozenClock) -> None:
    valid = create_access_token({"sub": "42"}, SECRET)
    signed = create_signed_token(SECRET, 42, "reset_password")
    # A JSON string may carry a lone surrogate, which has no UTF-8 encoding.
    for surrogate in ["\ud800", "\udfff", "\udcff", "a\ud83d"]:
        for token in [surrogate, valid + surrogate, signed + surrogate]:
            assert verify_token(token, SECRET, TokenType.ACCESS) is None, token
            assert verify_token(token, [SECRET, OLD_SECRET], TokenType.REFRESH) is None, token
            assert verify_signed_token(token, SECRET, "reset_password") is None, token
            assert verify_signed_token_full(token, SECRET, "reset_password") is None, token
            assert is_expired_token(token, SECRET) is False, token
    # An empty key list is a configuration error, whatever the token holds.
    with pytest.raises(ValueError, match="non-empty sequence"):
        verify_token("\ud800", [], TokenType.ACCESS)


def test_alg_none_rejected(clock: FrozenClock) -> None:
    token = unsigned_token(access_claims())

    assert verify_token(token, SECRET, TokenType.ACCESS) is None
    assert is_expired_token(token, SECRET) is False


def test_hs512_token_rejected_under_hs256(clock: FrozenClock) -> None:
    token = jwt.encode(access_claims(), SECRET, algorithm="HS512")

    assert verify_token(token, SECRET, TokenType.ACCESS) is None
    assert verify_token(token, SECRET, TokenType.ACCESS, algorithm="HS512") is not None


def test_rs256_token_rejected_under_hs256(clock: FrozenClock) -> None:
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(access_claims(), private_key, algorithm="RS256")

    assert verify_token(token, SECRET, TokenType.ACCESS) is None
    assert is_expired_token(token, SECRET) is False


def test_algorithm_parameter_used_for_signing(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, SECRET, algorithm="HS512")

    assert jwt.get_unverified_header(token)["alg"] == "HS512"
    assert verify_token(token, SECRET, TokenType.ACCESS, algorithm="HS512") is not None
    assert verify_token(token, SECRET, TokenType.ACCESS) is None


def test_missing_sub_rejected(clock: FrozenClock) -> None:
    token = create_access_token({"ver": 0}, SECRET)

    assert verify_token(token, SECRET, TokenType.ACCESS) is None


def test_empty_sub_rejected(clock: FrozenClock) -> None:
    token = create_access_token({"sub": ""}, SECRET)

    assert verify_token(token, SECRET, TokenType.ACCESS) is None


def test_missing_exp_rejected(clock: FrozenClock) -> None:
    claims = access_claims()
    del claims["exp"]
    token = jwt.encode(claims, SECRET, algorithm="HS256")

    assert verify_token(token, SECRET, TokenType.ACCESS) is None
    assert is_expired_token(token, SECRET) is False


def test_non_numeric_exp_rejected(clock: FrozenClock) -> None:
    for expiry in ["never", True, None, [1]]:
        token = jwt.encode(dict(access_claims(), exp=expiry), SECRET, algorithm="HS256")

        assert verify_token(token, SECRET, TokenType.ACCESS) is None, expiry


def test_signed_token_rejected_as_access(clock: FrozenClock) -> None:
    token = create_signed_token(SECRET, 42, "reset", extra_claims={"scopes": ["read"], "ver": 0})
    forged = jwt.encode(
        dict(jwt.decode(token, SECRET, algorithms=["HS256"]), token_type="access"),
        SECRET,
        algorithm="HS256",
    )

    assert verify_token(token, SECRET, TokenType.ACCESS) is None
    assert verify_token(forged, SECRET, TokenType.ACCESS) is None


def test_signed_token_round_trip(clock: FrozenClock) -> None:
    token = create_signed_token(SECRET, 42, "verify", extra_claims={"state": "abc"})

    claims = verify_signed_token_full(token, SECRET, "verify")

    assert claims is not None
    assert claims["sub"] == "42"
    assert claims["purpose"] == "verify"
    assert claims["state"] == "abc"
    assert claims["exp"] == int(START) + 24 * 3600
    assert verify_signed_token(token, SECRET, "verify") == "42"


def test_signed_token_wrong_purpose_rejected(clock: FrozenClock) -> None:
    token = create_signed_token(SECRET, 42, "verify")

    assert verify_signed_token_full(token, SECRET, "reset") is None
    assert verify_signed_token(token, SECRET, "reset") is None


def test_signed_token_wrong_secret_rejected(clock: FrozenClock) -> None:
    token = create_signed_token(OTHER_SECRET, 42, "verify")

    assert verify_signed_token(token, SECRET, "verify") is None


def test_signed_token_previous_key_verifies(clock: FrozenClock) -> None:
    token = create_signed_token(OLD_SECRET, 42, "verify")

    assert verify_signed_token(token, [SECRET, OLD_SECRET], "verify") == "42"


def test_signed_token_expiry_boundary(clock: FrozenClock) -> None:
    token = create_signed_token(SECRET, 42, "reset", expires_hours=1)

    clock.now = START + 3599
    assert verify_signed_token(token, SECRET, "reset") == "42"

    clock.now = START + 3600
    assert verify_signed_token(token, SECRET, "reset") is None

    clock.now = START + 3601
    assert verify_signed_token(token, SECRET, "reset") is None


def test_access_token_rejected_as_signed(clock: FrozenClock) -> None:
    token = create_access_token({"sub": "42"}, SECRET)

    assert verify_signed_token(token, SECRET, "reset") is None


def test_signed_token_tampered_rejected(clock: FrozenClock) -> None:
    token = create_signed_token(SECRET, 42, "reset")
    header, _, signature = token.split(".")
    forged = {"sub": "1", "purpose": "reset", "exp": START + 3600}
    tampered = f"{header}.{b64url(json.dumps(forged).encode())}.{signature}"

    assert verify_signed_token(tampered, SECRET, "reset") is None


def test_signed_token_alg_none_rejected(clock: FrozenClock) -> None:
    token = unsigned_token({"sub": "42", "purpose": "reset", "exp": START + 3600})

    assert verify_signed_token(token, SECRET, "reset") is None


def test_signed_token_reserved_extra_claim_raises() -> None:
    for claim in ["sub", "purpose", "exp", "token_type"]:
        with pytest.raises(ValueError, match="reserved"):
            create_signed_token(SECRET, 42, "reset", extra_claims={claim: "x"})


def test_token_type_values() -> None:
    assert TokenType.ACCESS.value == "access"
    assert TokenType.REFRESH.value == "refresh"
    assert TokenType("access") is TokenType.ACCESS
