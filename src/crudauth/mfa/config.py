"""``MfaConfig``: issuer, encryption keys, who must use MFA, and challenge limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Union

from crudauth.mfa.constants import (
    DEFAULT_CHALLENGE_TTL_SECONDS,
    DEFAULT_MAX_CODE_ATTEMPTS,
    RECOVERY_CODE_COUNT,
)

__all__ = ["MfaConfig", "MfaRequirement"]

# Whether an account must use MFA: a flag, or a predicate given the user row that may
# return an awaitable.
MfaRequirement = Union[bool, Callable[[Any], Union[bool, Awaitable[bool]]]]  # noqa: UP007


@dataclass(frozen=True)
class MfaConfig:
    """TOTP second-factor configuration.

    Attributes:
        issuer: Name shown in authenticator apps, such as the product name.
        encryption_key: A Fernet key that encrypts the stored TOTP secrets, or several
            for rotation: the first encrypts and any of them decrypts. It must differ
            from ``SECRET_KEY``. Generate one with
            ``cryptography.fernet.Fernet.generate_key().decode()``.
        required: Whether an account must use MFA: a flag, or a predicate given the
            user row that may return an awaitable. A required account without MFA
            enrols during its next password login.
        oauth: Challenge OAuth sign-ins of accounts with MFA too (default ``False``).
        challenge_ttl_seconds: Lifetime of a pending two-step login (default 300).
        max_code_attempts: Wrong codes allowed per pending login (default 5).
        recovery_code_count: Number of recovery codes issued at once (default 10).

    Raises:
        ValueError: ``issuer`` or ``encryption_key`` is empty, or a limit is not a
            positive integer.

    Example:
        ```python
        auth = CRUDAuth(
            ...,
            mfa=MfaConfig(issuer="Example", encryption_key=os.environ["MFA_KEY"]),
        )
        ```
    """

    issuer: str
    encryption_key: str | bytes | Sequence[str | bytes]
    required: MfaRequirement = False
    oauth: bool = False
    challenge_ttl_seconds: int = DEFAULT_CHALLENGE_TTL_SECONDS
    max_code_attempts: int = DEFAULT_MAX_CODE_ATTEMPTS
    recovery_code_count: int = RECOVERY_CODE_COUNT

    def __post_init__(self) -> None:
        if not self.issuer or not self.issuer.strip():
            raise ValueError(
                "MfaConfig.issuer must be a non-empty name shown in authenticator apps"
            )
        if not self.encryption_keys:
            raise ValueError(
                "MfaConfig.encryption_key is empty; pass a Fernet key, for example "
                "Fernet.generate_key() from the cryptography package"
            )
        for name in ("challenge_ttl_seconds", "max_code_attempts", "recovery_code_count"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"MfaConfig.{name} must be a positive integer, got {value!r}")

    @property
    def encryption_keys(self) -> list[str]:
        """The keys as strings, encrypting key first, with empty entries dropped."""
        raw = self.encryption_key
        entries: Sequence[str | bytes] = [raw] if isinstance(raw, (str, bytes)) else raw
        keys: list[str] = []
        for entry in entries:
            text = entry.decode() if isinstance(entry, bytes) else str(entry)
            if text.strip():
                keys.append(text.strip())
        return keys
