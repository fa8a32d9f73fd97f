"""RFC 6238 TOTP helpers: secrets, codes, input cleanup, drift window, otpauth URIs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote

from crudauth.mfa.constants import (
    TOTP_ALGORITHM,
    TOTP_DIGITS,
    TOTP_DRIFT_STEPS,
    TOTP_PERIOD_SECONDS,
    TOTP_SECRET_BYTES,
)

__all__ = [
    "generate_secret",
    "matching_step",
    "normalize_code",
    "provisioning_uri",
    "time_step",
    "totp_code",
]


def generate_secret() -> str:
    """Return a new random 160-bit secret, base32 without ``=`` padding."""
    raw = secrets.token_bytes(TOTP_SECRET_BYTES)
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def _secret_bytes(secret: str) -> bytes:
    """Decode a base32 secret, upper-casing it and restoring the stripped padding."""
    cleaned = secret.replace(" ", "").upper()
    padding = "=" * (-len(cleaned) % 8)
    return base64.b32decode(cleaned + padding)


def time_step(timestamp: float) -> int:
    """Return the TOTP time step that ``timestamp`` falls in.

    Args:
        timestamp: Unix time in seconds.
    """
    return int(timestamp // TOTP_PERIOD_SECONDS)


def totp_code(secret: str, step: int) -> str:
    """Return the code of ``secret`` for time step ``step`` (RFC 4226 truncation).

    Args:
        secret: The base32 secret; case, spaces and missing padding are tolerated.
        step: The time step.

    Returns:
        The six-digit code, zero-padded.

    Raises:
        binascii.Error: ``secret`` is not valid base32.
    """
    digest = hmac.new(_secret_bytes(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**TOTP_DIGITS).zfill(TOTP_DIGITS)


def normalize_code(code: str) -> str | None:
    """Return ``code`` without spaces if that is six ASCII digits, else ``None``.

    Args:
        code: The code as typed.
    """
    cleaned = code.replace(" ", "")
    if len(cleaned) != TOTP_DIGITS or not cleaned.isascii() or not cleaned.isdigit():
        return None
    return cleaned


def matching_step(secret: str, code: str, timestamp: float) -> int | None:
    """Return the step within the drift window whose code equals ``code``, or ``None``.

    The window is the current step and one step on each side. Every step of the
    window is compared in constant time, so the response time does not reveal which
    step (if any) matched.

    Args:
        secret: The base32 secret.
        code: The code as typed.
        timestamp: Unix time in seconds.
    """
    normalized = normalize_code(code)
    if normalized is None:
        return None
    current = time_step(timestamp)
    matched: int | None = None
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp_code(secret, step), normalized) and matched is None:
            matched = step
    return matched


def provisioning_uri(secret: str, *, issuer: str, account: str) -> str:
    """Return the ``otpauth://totp/...`` URI an authenticator app scans.

    The label ``<issuer>:<account>`` and the query values are fully percent-encoded,
    so the label colon becomes ``%3A`` and spaces become ``%20``.

    Args:
        secret: The base32 secret.
        issuer: The issuer name shown in the app.
        account: The account name shown in the app, such as the email.
    """
    label = quote(f"{issuer}:{account}", safe="")
    query = "&".join(
        f"{name}={quote(str(value), safe='')}"
        for name, value in (
            ("secret", secret),
            ("issuer", issuer),
            ("algorithm", TOTP_ALGORITHM),
            ("digits", TOTP_DIGITS),
            ("period", TOTP_PERIOD_SECONDS),
        )
    )
    return f"otpauth://totp/{label}?{query}"
