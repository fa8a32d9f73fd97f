"""``EmailConfig``: the sender, the frontend that links point to, token lifetimes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from crudauth.email.constants import (
    DEFAULT_CHANGE_PATH,
    DEFAULT_CHANGE_TTL_HOURS,
    DEFAULT_RESET_PATH,
    DEFAULT_RESET_TTL_HOURS,
    DEFAULT_VERIFY_PATH,
    DEFAULT_VERIFY_TTL_HOURS,
)
from crudauth.email.sender import EmailSender

__all__ = ["EmailConfig"]

logger = logging.getLogger("crudauth")


@dataclass
class EmailConfig:
    """Email delivery settings of the recovery flows.

    Links point at the app's frontend (``frontend_url`` + a path + ``?token=``), never
    at a crudauth route. The frontend page reads ``token`` and posts it to the matching
    confirm endpoint.

    Attributes:
        sender: The app's ``EmailSender``.
        frontend_url: Origin of the frontend, such as ``https://app.example.com``; an
            empty value logs a warning and makes host-less links.
        verify_ttl_hours: Lifetime of an email-verification link (default 24).
        reset_ttl_hours: Lifetime of a password-reset link (default 1).
        change_ttl_hours: Lifetime of an email-change confirmation link (default 24).
        verify_path: Frontend path of the verification page.
        reset_path: Frontend path of the password-reset page.
        change_path: Frontend path of the email-change confirmation page.
        verify_on_register: ``True`` (the default) makes ``/register`` return 202
            with one uniform body for new and taken addresses and send a verification
            link, so signup cannot reveal which addresses have accounts. ``False``
            registers like an app without email: 200 with the new account, 422 for a
            taken address, and no verification message. Use ``False`` only where
            addresses are not secret.

    Raises:
        ValueError: A lifetime is not a positive integer.

    Example:
        ```python
        auth = CRUDAuth(
            ...,
            email=EmailConfig(sender=OutboxSender(), frontend_url="https://app.example.com"),
        )
        ```
    """

    sender: EmailSender
    frontend_url: str = ""
    verify_ttl_hours: int = DEFAULT_VERIFY_TTL_HOURS
    reset_ttl_hours: int = DEFAULT_RESET_TTL_HOURS
    change_ttl_hours: int = DEFAULT_CHANGE_TTL_HOURS
    verify_path: str = DEFAULT_VERIFY_PATH
    reset_path: str = DEFAULT_RESET_PATH
    change_path: str = DEFAULT_CHANGE_PATH
    verify_on_register: bool = True

    def __post_init__(self) -> None:
        for name in ("verify_ttl_hours", "reset_ttl_hours", "change_ttl_hours"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"EmailConfig.{name} must be a positive integer, got {value!r}")
        if not self.frontend_url:
            logger.warning(
                "EmailConfig.frontend_url is empty: recovery links will be host-less "
                "paths such as /reset-password?token=..."
            )

    def link(self, path: str, token: str) -> str:
        """Return ``frontend_url`` + ``path`` + ``?token=<token>``.

        The token is not URL-encoded again because signed tokens are URL-safe.

        Args:
            path: Frontend path, such as ``verify_path``.
            token: The signed token.
        """
        return f"{self.frontend_url.rstrip('/')}{path}?token={token}"
