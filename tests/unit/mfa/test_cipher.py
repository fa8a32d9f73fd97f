"""``SecretCipher``: round trip, rotation, tampering and key validation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from crudauth.mfa.cipher import SecretCipher


def new_key() -> str:
    return Fernet.generate_key().decode()


def test_round_trip_does_not_store_plaintext() -> None:
    cipher = SecretCipher([new_key()])
    token = cipher.encrypt("JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in token
    assert len(token) <= 255
    assert cipher.decrypt(token) == "JBSWY3DPEHPK3PXP"


def test_rotation_encrypts_with_first_and_decrypts_with_any() -> None:
    old, new = new_key(), new_key()
    old_token = SecretCipher([old]).encrypt("secret")
    rotated = SecretCipher([new, old])
    assert rotated.decrypt(old_token) == "secret"
    assert SecretCipher([new]).decrypt(rotated.encrypt("secret")) == "secret"
    assert SecretCipher([old]).decrypt(rotated.encrypt("secret")) is None


def test_tampered_or_unknown_tokens_are_none() -> None:
    cipher = SecretCipher([new_key()])
    token = cipher.encrypt("secret")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert cipher.decrypt(tampered) is None
    assert cipher.decrypt("not a token") is None
    assert cipher.decrypt("é") is None
    assert cipher.decrypt(None) is None
    assert SecretCipher([new_key()]).decrypt(token) is None


@pytest.mark.parametrize("bad", ["short", "x" * 44, "é" * 44])
def test_invalid_key_is_rejected_without_echoing_it(bad: str) -> None:
    with pytest.raises(ValueError) as raised:
        SecretCipher([new_key(), bad])
    assert "#2" in str(raised.value)
    assert "generate_key" in str(raised.value)
    assert bad not in str(raised.value)


def test_empty_key_list_is_rejected() -> None:
    with pytest.raises(ValueError):
        SecretCipher([])
