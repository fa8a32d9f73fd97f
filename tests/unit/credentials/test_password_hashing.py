"""PasswordHashing: Argon2id, bcrypt, the pepper and the upgrade decision."""

from __future__ import annotations

import argon2
import bcrypt
import pytest

from crudauth.utils.hashers import Argon2idHasher, BcryptHasher, resolve_hasher
from crudauth.utils.password_hashing import PEPPERED_PREFIX, PasswordHashing, pre_hash

PEPPER = "pepper-0123456789-abcdefghij"
OTHER_PEPPER = "pepper-9876543210-zyxwvutsrq"


def weak_argon2id(password: str, *, memory_cost: int, time_cost: int) -> str:
    hasher = argon2.PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=1, type=argon2.Type.ID
    )
    return hasher.hash(pre_hash(password))


def test_argon2id_hash_has_owasp_parameters() -> None:
    stored = PasswordHashing("argon2id").hash("Correct-Horse-1")
    params = argon2.extract_parameters(stored)
    assert params.type is argon2.Type.ID
    assert params.memory_cost >= 19 * 1024
    assert params.time_cost >= 2
    assert params.parallelism >= 1


def test_argon2id_verifies_and_rejects() -> None:
    hashing = PasswordHashing("argon2id")
    stored = hashing.hash("Correct-Horse-1")
    assert hashing.verify_and_update("Correct-Horse-1", stored) == (True, None)
    assert hashing.verify_and_update("wrong-password", stored) == (False, None)


def test_argon2id_long_passwords_not_truncated() -> None:
    hashing = PasswordHashing("argon2id")
    stored = hashing.hash("a" * 200 + "x")
    assert hashing.verify("a" * 200 + "x", stored) is True
    assert hashing.verify("a" * 200 + "y", stored) is False


def test_argon2id_rejects_weak_settings() -> None:
    with pytest.raises(ValueError, match="memory_cost"):
        Argon2idHasher(memory_cost=8 * 1024)
    with pytest.raises(ValueError, match="time_cost"):
        Argon2idHasher(time_cost=1)


def test_unknown_hasher_name_rejected() -> None:
    with pytest.raises(ValueError, match="password_hasher"):
        resolve_hasher("md5")


def test_bcrypt_hash_upgrades_to_argon2id() -> None:
    bcrypt_hash = PasswordHashing("bcrypt").hash("Correct-Horse-1")
    verified, new_hash = PasswordHashing("argon2id").verify_and_update(
        "Correct-Horse-1", bcrypt_hash
    )
    assert verified is True
    assert new_hash is not None
    assert new_hash.startswith("$argon2id$")
    assert PasswordHashing("argon2id").verify("Correct-Horse-1", new_hash) is True


def test_wrong_password_on_old_scheme_no_upgrade() -> None:
    bcrypt_hash = PasswordHashing("bcrypt").hash("Correct-Horse-1")
    assert PasswordHashing("argon2id").verify_and_update("nope", bcrypt_hash) == (False, None)


def test_weak_argon2id_hash_upgrades() -> None:
    weak = weak_argon2id("Correct-Horse-1", memory_cost=8 * 1024, time_cost=1)
    verified, new_hash = PasswordHashing("argon2id").verify_and_update("Correct-Horse-1", weak)
    assert verified is True
    assert new_hash is not None
    assert argon2.extract_parameters(new_hash).memory_cost == 19 * 1024


def test_stronger_argon2id_hash_kept() -> None:
    strong = PasswordHashing(Argon2idHasher(memory_cost=32 * 1024, time_cost=3)).hash("pw-123456")
    assert PasswordHashing("argon2id").verify_and_update("pw-123456", strong) == (True, None)


def test_low_bcrypt_cost_upgrades() -> None:
    low = bcrypt.hashpw(pre_hash("pw-123456"), bcrypt.gensalt(4)).decode()
    verified, new_hash = PasswordHashing(BcryptHasher(rounds=5)).verify_and_update("pw-123456", low)
    assert verified is True
    assert new_hash is not None
    assert new_hash.startswith("$2b$05$")


def test_argon2id_hash_verifies_under_bcrypt_default() -> None:
    stored = PasswordHashing("argon2id").hash("pw-123456")
    verified, new_hash = PasswordHashing().verify_and_update("pw-123456", stored)
    assert verified is True
    assert new_hash is not None
    assert new_hash.startswith("$2b$")


def test_peppered_hash_has_prefix() -> None:
    stored = PasswordHashing("argon2id", pepper=PEPPER).hash("pw-123456")
    assert stored.startswith(PEPPERED_PREFIX)
    assert "$argon2id$" in stored


def test_peppered_hash_needs_the_pepper() -> None:
    stored = PasswordHashing("argon2id", pepper=PEPPER).hash("pw-123456")
    assert PasswordHashing("argon2id").verify("pw-123456", stored) is False
    assert PasswordHashing("argon2id", pepper=OTHER_PEPPER).verify("pw-123456", stored) is False
    assert PasswordHashing("argon2id", pepper=PEPPER).verify("pw-123456", stored) is True


def test_pepper_keys_the_pre_hash() -> None:
    """The inner hash does not verify the unpeppered pre-hash of the password."""
    stored = PasswordHashing("argon2id", pepper=PEPPER).hash("pw-123456")
    inner = "$" + stored[len(PEPPERED_PREFIX) :].partition("$")[2]
    assert argon2.PasswordHasher().verify(inner, pre_hash("pw-123456", PEPPER.encode()))
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        argon2.PasswordHasher().verify(inner, pre_hash("pw-123456"))


def test_unpeppered_hash_upgrades_to_pepper() -> None:
    plain_hash = PasswordHashing("argon2id").hash("pw-123456")
    hashing = PasswordHashing("argon2id", pepper=PEPPER)
    verified, new_hash = hashing.verify_and_update("pw-123456", plain_hash)
    assert verified is True
    assert new_hash is not None
    assert new_hash.startswith(PEPPERED_PREFIX)
    assert hashing.verify_and_update("pw-123456", new_hash) == (True, None)


def test_retired_pepper_verifies_and_upgrades() -> None:
    old = PasswordHashing("argon2id", pepper=OTHER_PEPPER).hash("pw-123456")
    hashing = PasswordHashing("argon2id", pepper=PEPPER, previous_peppers=[OTHER_PEPPER])
    verified, new_hash = hashing.verify_and_update("pw-123456", old)
    assert verified is True
    assert new_hash is not None
    assert PasswordHashing("argon2id", pepper=PEPPER).verify("pw-123456", new_hash) is True


def test_short_pepper_rejected() -> None:
    with pytest.raises(ValueError, match="password_pepper"):
        PasswordHashing(pepper="short")


def test_previous_peppers_need_a_pepper() -> None:
    with pytest.raises(ValueError, match="password_pepper"):
        PasswordHashing(previous_peppers=[PEPPER])


def test_missing_hash_uses_configured_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown user pays one Argon2id comparison when Argon2id is configured."""
    hashing = PasswordHashing("argon2id")
    seen: list[str] = []
    original = Argon2idHasher.verify

    def recording(self: Argon2idHasher, secret: bytes, stored: str) -> bool | None:
        seen.append(stored)
        return original(self, secret, stored)

    monkeypatch.setattr(Argon2idHasher, "verify", recording)
    monkeypatch.setattr(bcrypt, "checkpw", lambda *_: pytest.fail("bcrypt ran"))
    assert hashing.verify("whatever", None) is False
    assert len(seen) == 1
    assert seen[0].startswith("$argon2id$")


@pytest.mark.parametrize("stored", ["$hmac-sha256$", "$hmac-sha256$nope", "$argon2id$garbage"])
def test_malformed_hashes_mismatch(stored: str) -> None:
    assert PasswordHashing("argon2id", pepper=PEPPER).verify_and_update("x", stored) == (
        False,
        None,
    )
