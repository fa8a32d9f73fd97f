"""TOTP helpers checked against RFC 6238 vectors and pyotp."""

from __future__ import annotations

import base64
import secrets
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from crudauth.mfa.totp import (
    generate_secret,
    matching_step,
    normalize_code,
    provisioning_uri,
    time_step,
    totp_code,
)

# RFC 6238 appendix B, SHA-1 seed "12345678901234567890", last six of eight digits.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
SECRET_20 = RFC_SECRET
RFC_VECTORS = [
    (59, "287082"),
    (1111111109, "081804"),
    (1111111111, "050471"),
    (1234567890, "005924"),
    (2000000000, "279037"),
    (20000000000, "353130"),
]


@pytest.mark.parametrize(("timestamp", "expected"), RFC_VECTORS)
def test_totp_code_rfc_vectors(timestamp: int, expected: str) -> None:
    assert totp_code(RFC_SECRET, time_step(timestamp)) == expected


def test_totp_code_matches_pyotp() -> None:
    for _ in range(50):
        secret = generate_secret()
        timestamp = secrets.randbelow(4_000_000_000)
        assert totp_code(secret, time_step(timestamp)) == pyotp.TOTP(secret).at(timestamp)


def test_generate_secret_shape() -> None:
    secret = generate_secret()
    assert len(secret) == 32
    assert "=" not in secret
    assert len(base64.b32decode(secret)) == 20
    assert generate_secret() != secret


def test_lower_case_unpadded_secret_decodes() -> None:
    secret = base64.b32encode(b"0123456789").decode().rstrip("=")
    assert totp_code(secret.lower(), 1) == totp_code(secret, 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123456", "123456"),
        (" 123 456 ", "123456"),
        ("12345", None),
        ("1234567", None),
        ("12a456", None),
        ("١٢٣٤٥٦", None),
        ("", None),
        ("123-456", None),
    ],
)
def test_normalize_code(raw: str, expected: str | None) -> None:
    assert normalize_code(raw) == expected


def test_matching_step_window_edges() -> None:
    secret = generate_secret()
    now = 1_700_000_015.0
    current = time_step(now)
    for offset in (-1, 0, 1):
        code = totp_code(secret, current + offset)
        assert matching_step(secret, code, now) == current + offset
    for offset in (-2, 2):
        assert matching_step(secret, totp_code(secret, current + offset), now) is None


def test_matching_step_rejects_non_codes() -> None:
    assert matching_step(generate_secret(), "abcdef", 1_700_000_000) is None


def test_provisioning_uri_encoding() -> None:
    uri = provisioning_uri(SECRET_20, issuer="My App", account="a b@example.com")
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth"
    assert parts.netloc == "totp"
    assert parts.path == "/My%20App%3Aa%20b%40example.com"
    assert "%20" in parts.query
    query = parse_qs(parts.query)
    assert query == {
        "secret": [SECRET_20],
        "issuer": ["My App"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
    parsed = pyotp.parse_uri(uri)
    assert parsed.secret == SECRET_20
    assert parsed.issuer == "My App"
