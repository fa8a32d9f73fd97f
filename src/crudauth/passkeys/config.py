"""``PasskeyConfig``: the relying party and the limits of the passkeys feature."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from crudauth.passkeys.constants import (
    BINDING_COOKIE_NAME,
    DEFAULT_CEREMONY_TIMEOUT_MS,
    DEFAULT_CHALLENGE_TTL_SECONDS,
    DEFAULT_MAX_PASSKEYS_PER_USER,
)

__all__ = ["PasskeyConfig"]


@dataclass(frozen=True)
class PasskeyConfig:
    """The relying party that passkeys are bound to, and the feature's limits.

    Attributes:
        rp_id: The relying-party id: the site's registrable domain or a host name
            under it (``"example.com"``), never an IP address or a URL.
        rp_name: The name authenticators show when a passkey is created.
        origins: Every origin pages run on (``"https://app.example.com"``); an
            assertion made on any other origin is rejected.
        user_verification: ``"required"`` (default) makes every ceremony prove a PIN
            or biometric, which is what lets a passkey stand in for a password plus
            a second factor. ``"preferred"`` accepts presence only for registration,
            but sign-in and the MFA step still require verification.
        challenge_ttl_seconds: How long a ceremony may take from options to verify.
        max_passkeys_per_user: Registration beyond this count is rejected.
        timeout_ms: The ``timeout`` hint sent to the browser.
        cookie_name: The HttpOnly cookie that binds a challenge to the browser.

    Raises:
        ValueError: An empty or IP ``rp_id``, an empty ``rp_name`` or
            ``cookie_name``, no ``origins``, an origin that is not
            ``scheme://host[:port]`` or whose host is not ``rp_id`` or under it, an
            unknown ``user_verification``, or a limit below 1.

    Example:
        ```python
        auth = CRUDAuth(
            ...,
            sudo=SudoConfig(),
            passkeys=PasskeyConfig(
                rp_id="example.com",
                rp_name="Example",
                origins=["https://app.example.com"],
            ),
        )
        ```
    """

    rp_id: str
    rp_name: str
    origins: Sequence[str] = field(default_factory=tuple)
    user_verification: Literal["required", "preferred"] = "required"
    challenge_ttl_seconds: int = DEFAULT_CHALLENGE_TTL_SECONDS
    max_passkeys_per_user: int = DEFAULT_MAX_PASSKEYS_PER_USER
    timeout_ms: int = DEFAULT_CEREMONY_TIMEOUT_MS
    cookie_name: str = BINDING_COOKIE_NAME

    def __post_init__(self) -> None:
        if not self.rp_id or "/" in self.rp_id or ":" in self.rp_id:
            raise ValueError(
                f"PasskeyConfig.rp_id must be a host name such as 'example.com', not {self.rp_id!r}"
            )
        if self.rp_id.replace(".", "").isdigit():
            raise ValueError("PasskeyConfig.rp_id cannot be an IP address; use a host name")
        if not self.rp_name:
            raise ValueError("PasskeyConfig.rp_name must not be empty")
        if isinstance(self.origins, str) or not self.origins:
            raise ValueError(
                "PasskeyConfig.origins must be a list of origins such as "
                "['https://app.example.com']"
            )
        object.__setattr__(self, "origins", tuple(self.origins))
        for origin in self.origins:
            _check_origin(origin, self.rp_id)
        if self.user_verification not in ("required", "preferred"):
            raise ValueError("PasskeyConfig.user_verification must be 'required' or 'preferred'")
        for name in ("challenge_ttl_seconds", "max_passkeys_per_user", "timeout_ms"):
            if getattr(self, name) < 1:
                raise ValueError(f"PasskeyConfig.{name} must be 1 or more")
        if not self.cookie_name:
            raise ValueError("PasskeyConfig.cookie_name must not be empty")


def _check_origin(origin: str, rp_id: str) -> None:
    parts = urlsplit(origin)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path:
        raise ValueError(
            f"PasskeyConfig.origins entry {origin!r} must look like 'https://host[:port]'"
        )
    host = parts.hostname
    # Browsers refuse an RP id that is not the page's host or a parent domain of it.
    if host != rp_id and not host.endswith("." + rp_id):
        raise ValueError(
            f"PasskeyConfig.origins entry {origin!r} is not on rp_id {rp_id!r} or a subdomain of it"
        )
