"""Password hashing, verification, sentinels and legacy verifiers."""

from __future__ import annotations

import base64
import hashlib
import logging
import unicodedata

import bcrypt
import pytest

import crudauth.utils.hashing as hashing
from crudauth.constants import MAX_PASSWORD_LENGTH
from crudauth.utils.hashing import (
    dummy_verify_password,
    get_password_hash,
    get_password_hash_async,
    is_unusable_password,
    make_unusable_password,
    verify_and_update_password,
    verify_and_update_password_async,
    verify_legacy_password,
    verify_legacy_password_async,
    verify_password,
    verify_password_async,
    verify_plain_bcrypt,
)


@pytest.fixture(autouse=True)
def cheap_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "BCRYPT_ROUNDS", 4)


@pytest.fixture
def checkpw_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(hashing.bcrypt, "checkpw", counting)
    return calls


def test_hash_round_trip() -> None:
    hashed = get_password_hash("correct horse")
    assert hashed.startswith("$2b$04$")
    assert verify_password("correct horse", hashed) is True
    assert verify_password("correct horsE", hashed) is False


def test_no_72_byte_truncation() -> None:
    hashed = get_password_hash("a" * 72 + "X")
    assert verify_password("a" * 72 + "X", hashed) is True
    assert verify_password("a" * 72 + "Y", hashed) is False
    assert verify_password("a" * 72, hashed) is False
    long_password = "p" * 300
    assert verify_password(long_password, get_password_hash(long_password)) is True


def test_pre_hash_is_44_bytes_of_sha256() -> None:
    digest = hashing._pre_hash("secret")
    assert len(digest) == hashing.PRE_HASH_LENGTH == 44
    assert digest == base64.b64encode(hashlib.sha256(b"secret").digest())


def test_nfkc_forms_hash_alike() -> None:
    composed = "caf\u00e9-password"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert verify_password(decomposed, get_password_hash(composed)) is True


def test_nul_characters_are_hashed() -> None:
    hashed = get_password_hash("abc\x00def")
    assert verify_password("abc\x00def", hashed) is True
    assert verify_password("abc", hashed) is False
    assert verify_password("abc\x00", hashed) is False


def test_lone_surrogate_does_not_raise() -> None:
    hashed = get_password_hash("pass\ud800word")
    assert verify_password("pass\ud800word", hashed) is True
    assert verify_password("password", hashed) is False


def test_hash_rejects_overlong_password() -> None:
    with pytest.raises(ValueError, match="MAX_PASSWORD_LENGTH"):
        get_password_hash("x" * (MAX_PASSWORD_LENGTH + 1))


def test_typed_form_fallback_and_rehash() -> None:
    typed = "\ufb01le-secret"  # The "fi" ligature becomes "fi" under NFKC.
    legacy_hash = bcrypt.hashpw(hashing._pre_hash(typed), bcrypt.gensalt(4)).decode()
    verified, new_hash = verify_and_update_password(typed, legacy_hash)
    assert verified is True
    assert new_hash is not None
    assert verify_password("file-secret", new_hash) is True
    assert verify_and_update_password("file-secret", new_hash) == (True, None)


@pytest.mark.parametrize(
    "stored", [None, "", "garbage", "$2b$04$" + "!" * 53, "!" + "x" * 59, "$2b$04$short"]
)
def test_unverifiable_hash_pays_dummy_compare(
    stored: str | None, checkpw_calls: list[bytes]
) -> None:
    assert verify_password("whatever", stored) is False
    assert checkpw_calls[-1] == hashing._dummy_hash(hashing.BCRYPT_ROUNDS)
    dummy_calls = [call for call in checkpw_calls if call == checkpw_calls[-1]]
    assert len(dummy_calls) == 1


def test_unnormalized_input_equal_compares(checkpw_calls: list[bytes]) -> None:
    typed = "\ufb01ne"
    verify_password(typed, get_password_hash("other"))
    real_count = len(checkpw_calls)
    checkpw_calls.clear()
    verify_password(typed, None)
    assert real_count == len(checkpw_calls) == 2


def test_overlong_password_cheap_mismatch(checkpw_calls: list[bytes]) -> None:
    hashed = get_password_hash("short-password")
    assert verify_password("x" * 10_000_000, hashed) is False
    assert len(checkpw_calls) == 1


def test_dummy_hash_is_cached_per_cost() -> None:
    assert hashing._dummy_hash(4) is hashing._dummy_hash(4)


def test_dummy_verify_password(checkpw_calls: list[bytes]) -> None:
    assert dummy_verify_password("x") is None
    assert len(checkpw_calls) == 1


def test_unusable_sentinel() -> None:
    first, second = make_unusable_password(), make_unusable_password()
    assert first.startswith("!")
    assert first != second
    assert is_unusable_password(first) is True
    assert is_unusable_password("") is True
    assert is_unusable_password(None) is True
    assert is_unusable_password(get_password_hash("x")) is False
    assert verify_password("", first) is False
    assert verify_password(first, first) is False


async def test_async_variants() -> None:
    hashed = await get_password_hash_async("async-secret")
    assert await verify_password_async("async-secret", hashed) is True
    assert await verify_password_async("nope", hashed) is False
    assert await verify_and_update_password_async("async-secret", hashed) == (True, None)


def test_plain_bcrypt_truncates_like_bcrypt() -> None:
    plain_hash = bcrypt.hashpw(b"b" * 72, bcrypt.gensalt(4)).decode()
    assert verify_plain_bcrypt("b" * 72, plain_hash) is True
    assert verify_plain_bcrypt("b" * 72 + "extra", plain_hash) is True
    assert verify_plain_bcrypt("b" * 71, plain_hash) is False
    assert verify_plain_bcrypt("b" * 72, "$2y$" + plain_hash[4:]) is True


def test_plain_bcrypt_rejects_non_bcrypt() -> None:
    assert verify_plain_bcrypt("x", "md5$abc") is False
    assert verify_plain_bcrypt("x", make_unusable_password()) is False


def test_plain_bcrypt_refuses_pre_hash_shape() -> None:
    # A leaked unsalted SHA-256 of the password must not sign in against our own hash.
    stored = get_password_hash("hunter22")
    leaked = hashing._pre_hash("hunter22").decode()
    assert bcrypt.checkpw(leaked.encode(), stored.encode()) is True
    assert verify_plain_bcrypt(leaked, stored) is False
    lookalike = "A" * 44
    assert len(base64.b64decode(lookalike)) != 32 or verify_plain_bcrypt(lookalike, stored) is False


def test_legacy_runs_every_verifier(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def accept(plain: str, hashed: str) -> bool:
        calls.append("accept")
        return True

    def broken(plain: str, hashed: str) -> bool:
        calls.append("broken")
        raise RuntimeError(f"cannot parse {plain}")

    with caplog.at_level(logging.WARNING, logger="crudauth.hashing"):
        assert verify_legacy_password("pw-secret", "stored", [accept, broken]) is True
    assert calls == ["accept", "broken"]
    assert len(caplog.records) == 1
    assert "pw-secret" not in caplog.records[0].getMessage()


def test_legacy_requires_real_true() -> None:
    assert verify_legacy_password("pw", "stored", [lambda p, h: "yes"]) is False  # type: ignore[arg-type,return-value]


def test_legacy_unknown_user_never_matches() -> None:
    seen: list[str] = []

    def accept_all(plain: str, hashed: str) -> bool:
        seen.append(hashed)
        return True

    assert verify_legacy_password("pw", None, [accept_all]) is False
    assert verify_legacy_password("pw", make_unusable_password(), [accept_all]) is False
    assert all(value.startswith("$2b$") for value in seen)
    assert len(seen) == 2


async def test_legacy_async() -> None:
    plain_hash = bcrypt.hashpw(b"old-password", bcrypt.gensalt(4)).decode()
    assert await verify_legacy_password_async("old-password", plain_hash, [verify_plain_bcrypt])
    assert not await verify_legacy_password_async("new", plain_hash, [verify_plain_bcrypt])
