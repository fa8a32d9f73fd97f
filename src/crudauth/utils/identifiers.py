"""Canonical forms of emails, usernames and login identifiers."""

from __future__ import annotations

import unicodedata
from typing import overload

__all__ = [
    "canonical_email",
    "canonical_identifier",
    "canonical_username",
    "is_mixed_script_lookalike",
    "mask_email",
    "username_problem",
]

# Control, format (zero-width, bidirectional overrides), line and paragraph separator,
# surrogate, private-use and unassigned characters: none of them shows as itself.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


@overload
def canonical_email(email: str) -> str: ...
@overload
def canonical_email(email: None) -> None: ...
def canonical_email(email: str | None) -> str | None:
    """Return the stored and lookup form of an email: NFKC, case-folded, trimmed.

    NFKC folds compatibility look-alikes (fullwidth letters, ligatures) into their plain
    form, so a visually distinct spelling can never register a second account for, or
    receive mail meant for, an existing address.

    Args:
        email: The address as typed, or ``None``.

    Returns:
        The canonical address, or ``None`` when ``email`` is ``None``.

    Example:
        ```python
        canonical_email("  Alice@Example.COM ")  # "alice@example.com"
        ```
    """
    if email is None:
        return None
    return unicodedata.normalize("NFKC", email).casefold().strip()


def canonical_identifier(value: str) -> str:
    """Return the login-lockout key form of any identifier: NFKC, trimmed, case-folded.

    Deliberately coarser than lookup, so ``bob``, ``BOB`` and `` Bob `` share one
    lockout budget and an attacker cannot multiply attempts by varying case or spacing.

    Args:
        value: The identifier as typed at login (email, username or phone number).

    Returns:
        The key under which failed attempts for ``value`` are counted.
    """
    return unicodedata.normalize("NFKC", value).strip().casefold()


def canonical_username(value: str) -> str:
    """Return the uniqueness form of a username: NFKC, then case-folded.

    Two usernames with the same canonical form are the same account name, so
    ``Alice``, ``ALICE`` and ``Alice`` in fullwidth letters cannot coexist.

    Args:
        value: The username as typed.

    Returns:
        The canonical username. Surrounding whitespace is kept.
    """
    return unicodedata.normalize("NFKC", value).casefold()


def _letter_script(char: str) -> str | None:
    """Return "LATIN", "CYRILLIC" or "GREEK" for a letter of that script, else None."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    for script in ("LATIN", "CYRILLIC", "GREEK"):
        if name.startswith(script):
            return script
    return None


def is_mixed_script_lookalike(value: str) -> bool:
    """Return whether ``value`` mixes Latin letters with Cyrillic or Greek letters.

    Such a mix (for example a Cyrillic ``a`` (U+0430) inside ``admin``) imitates another
    account's name while folding to a different canonical form, so usernames like it
    are rejected.

    Args:
        value: The username to check; it is NFKC-normalized before the check.

    Returns:
        ``True`` when ``value`` has Latin letters and Cyrillic or Greek letters.
    """
    scripts = {_letter_script(char) for char in unicodedata.normalize("NFKC", value)}
    # NOTE: a name spelled wholly in Cyrillic or Greek look-alikes of Latin letters is
    # not mixed and passes; catching it needs the Unicode confusables table.
    return "LATIN" in scripts and bool(scripts & {"CYRILLIC", "GREEK"})


def username_problem(value: str) -> str | None:
    """Return why ``value`` cannot be a username, or ``None`` when it can.

    A username must show as what it is: it is not empty, does not begin or end with
    whitespace, contains no invisible or control character and does not mix scripts.

    Args:
        value: The username as typed.

    Returns:
        A message for a 422 response, or ``None``.
    """
    if not value.strip():
        return "Username must not be empty."
    if value != value.strip():
        return "Username must not begin or end with whitespace."
    for char in value:
        # A zero-width or right-to-left character makes a name display as another's.
        if unicodedata.category(char) in _HIDDEN_CATEGORIES:
            return f"Username must not contain the invisible character U+{ord(char):04X}."
    # A name mixing scripts (Cyrillic letters in "alice") mimics another account.
    if is_mixed_script_lookalike(value):
        return "Username mixes letters from different scripts; use one script."
    return None


def mask_email(email: str | None) -> str:
    """Mask an email for display, keeping the first local character and the domain.

    Args:
        email: The address to mask, or ``None``.

    Returns:
        The masked address, or ``"***"`` for ``None``, an empty value or a value
        without ``@``.

    Example:
        ```python
        mask_email("john@example.com")  # "j***@example.com"
        ```
    """
    if not email or "@" not in email:
        return "***"
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
