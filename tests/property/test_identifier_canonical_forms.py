"""Canonical identifier forms hold their invariants for any Unicode input."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crudauth.utils.identifiers import (
    canonical_email,
    canonical_identifier,
    canonical_username,
    is_mixed_script_lookalike,
    mask_email,
)

BOUNDED = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Letters whose case folding or compatibility form is a trap: ligatures, fullwidth forms,
# final sigma, dotted I, German sharp s, Greek iota subscript and combining marks.
TRICKY = st.sampled_from(
    [
        *"\ufb00\ufb01\uff41\uff21\u03c2\u03a3\u0130\u0131\u00df\u1e9e\u0345\u1f80\u2126\u212a",
        "\u0301",
        "\u0307",
        "\u0430",
        "\u03bf",
        "A",
        "a",
        "K",
        "s",
        " ",
        "\u3000",
    ]
)
TEXT = st.text(st.one_of(st.characters(), TRICKY), max_size=24)
CANONICAL_FUNCTIONS = (canonical_email, canonical_identifier, canonical_username)


@BOUNDED
@given(TEXT)
def test_canonical_forms_are_fixed_points(value: str) -> None:
    for canonical in CANONICAL_FUNCTIONS:
        once = canonical(value)
        assert canonical(once) == once, (canonical.__name__, value)


@BOUNDED
@given(TEXT)
def test_canonical_forms_are_nfkc_and_folded(value: str) -> None:
    for canonical in CANONICAL_FUNCTIONS:
        result = canonical(value)
        assert unicodedata.normalize("NFKC", result) == result
        assert result.casefold() == result


@BOUNDED
@given(TEXT)
def test_case_and_width_variants_collide(value: str) -> None:
    variants = {value.upper(), value.lower(), unicodedata.normalize("NFKD", value)}
    for variant in variants:
        assert canonical_username(variant.casefold()) == canonical_username(value.casefold())


@BOUNDED
@given(TEXT)
def test_identifier_ignores_surrounding_space(value: str) -> None:
    assert canonical_identifier(f"  {value}\t") == canonical_identifier(value)


@BOUNDED
@given(st.text(max_size=40))
def test_lookalike_check_and_mask_never_raise(value: str) -> None:
    assert isinstance(is_mixed_script_lookalike(value), bool)
    masked = mask_email(value)
    local, at, domain = value.partition("@")
    # At most the first character of the local part is shown.
    assert masked == (f"{local[:1]}***@{domain}" if at else "***")


def test_known_lookalikes() -> None:
    assert is_mixed_script_lookalike("\u0430dmin")
    assert not is_mixed_script_lookalike("admin")
    assert canonical_username("\uff41\uff44\uff4d\uff49\uff4e") == "admin"
    assert canonical_username("\ufb00oo") == "ffoo"
