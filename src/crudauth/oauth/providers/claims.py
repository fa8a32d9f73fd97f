"""Readers for fields of provider profiles, shared by the built-in providers."""

from __future__ import annotations

from typing import Any

__all__ = ["optional_text", "required_subject"]


def required_subject(profile: dict[str, Any], key: str, provider: str) -> str:
    """Return the account id ``profile[key]`` as text.

    Args:
        profile: The provider's profile object.
        key: The field of the account id, such as ``"sub"`` or ``"id"``.
        provider: The provider name, for the error message.

    Raises:
        ValueError: The field is missing or empty, or is a boolean, list or object,
            because an account id must be a plain string or number.
    """
    value = profile.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{provider} profile has no usable {key!r}")
    text = str(value)
    if not text:
        raise ValueError(f"{provider} profile has an empty {key!r}")
    return text


def optional_text(profile: dict[str, Any], key: str) -> str | None:
    """Return ``profile[key]`` when it is a non-empty string, else ``None``.

    Args:
        profile: The provider's profile object.
        key: The field to read.
    """
    value = profile.get(key)
    return value if isinstance(value, str) and value else None
