"""Recovery-code shape, hashing and reading of the stored list."""

from __future__ import annotations

import hashlib
import json
import re

from crudauth.mfa.constants import RECOVERY_CODE_ALPHABET
from crudauth.mfa.recovery import (
    generate_recovery_codes,
    hash_recovery_code,
    hash_recovery_codes,
    load_hashes,
)


def test_codes_have_the_documented_shape() -> None:
    codes = generate_recovery_codes(50)
    assert len(codes) == 50
    assert len(set(codes)) == 50
    pattern = re.compile(
        rf"^[{RECOVERY_CODE_ALPHABET}]{{4}}(-[{RECOVERY_CODE_ALPHABET}]{{4}}){{3}}$"
    )
    for code in codes:
        assert pattern.match(code), code
    used = set("".join(codes).replace("-", ""))
    assert not used & set("ilo01")


def test_hash_normalizes_case_spaces_and_hyphens() -> None:
    expected = hashlib.sha256(b"abcdefghjkmnpqrs").hexdigest()
    assert hash_recovery_code("abcd-efgh-jkmn-pqrs") == expected
    assert hash_recovery_code("ABCD EFGH JKMN PQRS") == expected
    assert hash_recovery_codes(["abcd-efgh-jkmn-pqrs"]) == [expected]


def test_load_hashes_tolerates_bad_values() -> None:
    good = hash_recovery_code("abcd-efgh-jkmn-pqrs")
    assert load_hashes(None) == []
    assert load_hashes("") == []
    assert load_hashes("{broken") == []
    assert load_hashes('{"a": 1}') == []
    assert load_hashes(json.dumps([good, 5, "short", None])) == [good]
