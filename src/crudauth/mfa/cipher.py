"""``SecretCipher``: rotating Fernet encryption of the TOTP secrets at rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["SecretCipher"]

INSTALL_HINT = "MFA needs the 'cryptography' package: pip install 'crudauth[mfa]'"
KEY_HINT = (
    "each MFA encryption key must be a Fernet key (32 random bytes, URL-safe base64); "
    'generate one with python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


class SecretCipher:
    """Encrypt with the first key and decrypt with any of ``keys`` (key rotation).

    Args:
        keys: Fernet keys as text, encrypting key first.

    Raises:
        ImportError: ``cryptography`` is not installed; the message gives the install
            command.
        ValueError: ``keys`` is empty or a key is not a valid Fernet key. The message
            names the key's position, never the key.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("SecretCipher needs at least one key; " + KEY_HINT)
        try:
            from cryptography.fernet import Fernet, MultiFernet
        except ImportError as exc:
            raise ImportError(INSTALL_HINT) from exc

        fernets = []
        for position, key in enumerate(keys):
            try:
                fernets.append(Fernet(key.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                # The key itself stays out of the message: it is a secret.
                raise ValueError(
                    f"MFA encryption key #{position + 1} is invalid: {KEY_HINT}"
                ) from None
        self._fernet: Any = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> str:
        """Return the Fernet token of ``plaintext`` under the first key.

        Args:
            plaintext: The text to encrypt, such as a TOTP secret.
        """
        token: bytes = self._fernet.encrypt(plaintext.encode("utf-8"))
        return token.decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        """Return the plaintext; ``None`` for missing, tampered or unknown-key data.

        Args:
            token: The stored Fernet token, or ``None``.
        """
        if not token:
            return None
        from cryptography.fernet import InvalidToken

        try:
            plaintext: bytes = self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return None
        return plaintext.decode("utf-8")
