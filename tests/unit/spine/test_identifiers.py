"""Canonical forms and masking of emails, usernames and identifiers."""

from __future__ import annotations

import pytest

from crudauth.utils.identifiers import (
    canonical_email,
    canonical_identifier,
    canonical_username,
    is_mixed_script_lookalike,
    mask_email,
    username_problem,
)


def test_canonical_email_trims_and_folds() -> None:
    assert canonical_email("  Foo@X.COM ") == "foo@x.com"
    assert canonical_email(None) is None
    assert canonical_email("") == ""


def test_canonical_email_folds_lookalikes() -> None:
    assert canonical_email("ａｄｍｉｎ@example.com") == "admin@example.com"
    assert canonical_email("STRASSE@x.de") == canonical_email("straße@x.de")
    assert canonical_email("\ufb01le@x.io") == "file@x.io"


def test_canonical_identifier_shares_lockout_budget() -> None:
    assert canonical_identifier("bob") == canonical_identifier("BOB")
    assert canonical_identifier(" Bob ") == "bob"
    assert canonical_identifier("V@X.COM") == canonical_identifier("v@x.com")
    assert canonical_identifier("ｂｏｂ") == "bob"


def test_canonical_username_keeps_spaces() -> None:
    assert canonical_username("Alice") == "alice"
    assert canonical_username("ＡＬＩＣＥ") == "alice"
    assert canonical_username(" alice") == " alice"


def test_mixed_script_lookalike() -> None:
    assert is_mixed_script_lookalike("\u0430dmin") is True  # Cyrillic a
    assert is_mixed_script_lookalike("p\u03bfst") is True  # Greek omicron
    assert is_mixed_script_lookalike("admin") is False
    assert is_mixed_script_lookalike("\u0438\u0432\u0430\u043d") is False  # all Cyrillic
    assert is_mixed_script_lookalike("josé_42") is False
    assert is_mixed_script_lookalike("用户admin") is False


@pytest.mark.parametrize(
    ("username", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (" alice", "whitespace"),
        ("alice\t", "whitespace"),
        ("ali\u200bce", "U+200B"),  # zero-width space
        ("\u202ealice", "U+202E"),  # right-to-left override
        ("ali\nce", "U+000A"),
        ("ali\u2028ce", "U+2028"),  # line separator
        ("ali\ue000ce", "U+E000"),  # private use
        ("\u0430lice", "scripts"),  # Cyrillic a
    ],
)
def test_username_problem_names_the_fault(username: str, fragment: str) -> None:
    problem = username_problem(username)

    assert problem is not None
    assert fragment in problem


@pytest.mark.parametrize("username", ["alice", "Alice Smith", "josé_42", "用户admin", "иван"])
def test_username_problem_accepts_visible_names(username: str) -> None:
    assert username_problem(username) is None


def test_mask_email() -> None:
    assert mask_email("john@example.com") == "j***@example.com"
    assert mask_email("a@x.io") == "a***@x.io"
    assert mask_email("no-at-sign") == "***"
    assert mask_email("") == "***"
    assert mask_email(None) == "***"
