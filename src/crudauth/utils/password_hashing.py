"""``PasswordHashing``: the configured hasher, the pre-hash, the pepper and upgrades.

The stored hash is ``hasher(base64(pre_hash(NFKC(password))))``. Without a pepper the
pre-hash is SHA-256. With a pepper it is HMAC-SHA256 keyed by the pepper, and the
stored string is ``$hmac-sha256$<pepper id>`` followed by the hasher's output. The
prefix tells peppered and unpeppered hashes apart, so both keep verifying and an old
one is re-hashed with the pepper at the next sign-in. The pepper id is a short HMAC of
the pepper itself, so a retired pepper listed in ``previous_peppers`` is found again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from collections.abc import Sequence

from crudauth.constants import MAX_PASSWORD_LENGTH
from crudauth.utils._cpu_threads import run_cpu_bound
from crudauth.utils.hashers import Argon2idHasher, BcryptHasher, PasswordHasher, resolve_hasher

__all__ = ["PEPPERED_PREFIX", "PasswordHashing", "normalize_password"]

PEPPERED_PREFIX = "$hmac-sha256$"
_PEPPER_ID_CONTEXT = b"crudauth password pepper id"
_PEPPER_ID_LENGTH = 8
_MIN_PEPPER_LENGTH = 16


def normalize_password(password: str) -> str:
    """Return the NFKC form of ``password``, so composed and decomposed input match.

    Args:
        password: The password as typed.

    Returns:
        The NFKC-normalized password.
    """
    return unicodedata.normalize("NFKC", password)


def encode_password(password: str) -> bytes:
    """Return the UTF-8 bytes of ``password``, keeping lone surrogates.

    "surrogatepass" keeps a lone surrogate (legal in JSON strings) hashable instead of
    raising, so such input is an ordinary wrong password rather than a server error.

    Args:
        password: The password to encode.
    """
    return password.encode("utf-8", "surrogatepass")


def pre_hash(password: str, pepper: bytes | None = None) -> bytes:
    """Return the 44-byte base64 digest that the hasher receives.

    Args:
        password: The normalized password.
        pepper: The pepper that keys an HMAC-SHA256; ``None`` uses plain SHA-256.

    Returns:
        The base64 encoding of the 32-byte digest.
    """
    if pepper is None:
        digest = hashlib.sha256(encode_password(password)).digest()
    else:
        digest = hmac.new(pepper, encode_password(password), hashlib.sha256).digest()
    return base64.b64encode(digest)


def _pepper_id(pepper: bytes) -> str:
    return hmac.new(pepper, _PEPPER_ID_CONTEXT, hashlib.sha256).hexdigest()[:_PEPPER_ID_LENGTH]


class PasswordHashing:
    """Hash new passwords with one hasher and verify every scheme crudauth knows.

    A successful check reports a replacement hash when the stored one uses another
    scheme, weaker settings, no pepper or a retired pepper. ``CRUDAuth`` builds one
    from ``password_hasher=``, ``password_pepper=`` and ``previous_password_peppers=``
    and keeps it as ``auth.runtime.passwords``.

    Args:
        hasher: ``"bcrypt"`` (the default), ``"argon2id"`` or a ``PasswordHasher``.
        pepper: Optional server-side secret, kept outside the database, that keys the
            pre-hash. A database leak alone then cannot be attacked offline.
        previous_peppers: Retired peppers whose hashes still verify and are re-hashed
            with ``pepper`` at the next sign-in.

    Raises:
        ValueError: ``hasher`` is not a known scheme, ``pepper`` is shorter than 16
            characters, or ``previous_peppers`` is given without ``pepper``.

    Example:
        ```python
        passwords = PasswordHashing("argon2id", pepper=os.environ["PASSWORD_PEPPER"])
        stored = passwords.hash("correct horse battery")
        ok, new_hash = passwords.verify_and_update("correct horse battery", stored)
        ```
    """

    def __init__(
        self,
        hasher: str | PasswordHasher = BcryptHasher.scheme,
        *,
        pepper: str | None = None,
        previous_peppers: Sequence[str] = (),
    ) -> None:
        self.hasher = resolve_hasher(hasher)
        if pepper is not None and len(pepper) < _MIN_PEPPER_LENGTH:
            raise ValueError(
                f"password_pepper must be at least {_MIN_PEPPER_LENGTH} characters; "
                "generate one with secrets.token_urlsafe(32)"
            )
        if previous_peppers and pepper is None:
            raise ValueError("previous_password_peppers needs password_pepper to re-hash into")
        self._pepper = pepper.encode() if pepper is not None else None
        self._pepper_id = _pepper_id(self._pepper) if self._pepper is not None else None
        self._peppers: dict[str, bytes] = {}
        for value in (*previous_peppers, *([pepper] if pepper is not None else [])):
            key = value.encode()
            self._peppers[_pepper_id(key)] = key
        # Hashes made by any scheme verify, whatever the configured hasher is.
        self._verifiers: list[PasswordHasher] = [self.hasher]
        for fallback in (BcryptHasher(), Argon2idHasher()):
            if fallback.scheme != self.hasher.scheme:
                self._verifiers.append(fallback)

    @property
    def peppered(self) -> bool:
        """Whether new hashes are keyed by a pepper."""
        return self._pepper is not None

    def hash(self, password: str) -> str:
        """Hash ``password`` with the configured hasher and pepper.

        Args:
            password: The plain password; it is NFKC-normalized before hashing.

        Returns:
            The string to store, prefixed with ``$hmac-sha256$<pepper id>`` when a
            pepper is set.

        Raises:
            ValueError: The password is longer than ``MAX_PASSWORD_LENGTH`` characters.
                Callers run the password policy first, which reports that as a 422.
        """
        if len(password) > MAX_PASSWORD_LENGTH:
            raise ValueError(
                f"password is longer than MAX_PASSWORD_LENGTH ({MAX_PASSWORD_LENGTH} "
                "characters); check it with PasswordPolicy before hashing"
            )
        inner = self.hasher.hash(pre_hash(normalize_password(password), self._pepper))
        if self._pepper_id is None:
            return inner
        return f"{PEPPERED_PREFIX}{self._pepper_id}{inner}"

    async def hash_async(self, password: str) -> str:
        """Hash ``password`` like ``hash``, in a worker thread.

        Args:
            password: The plain password.

        Returns:
            The string to store.

        Raises:
            ValueError: The password is longer than ``MAX_PASSWORD_LENGTH`` characters.
        """
        return await run_cpu_bound(self.hash, password)

    def verify_and_update(self, plain: str, hashed: str | None) -> tuple[bool, str | None]:
        """Check ``plain`` against ``hashed`` and report a replacement hash when due.

        The NFKC form is tried first, then the typed form when it differs, so hashes
        made before normalization keep working. Never raises: a missing, malformed or
        unusable hash, a non-string or an over-long password is a mismatch that still
        pays the same comparisons against a dummy hash of the configured scheme.

        Args:
            plain: The password as typed.
            hashed: The stored hash in any known scheme, or ``None``.

        Returns:
            ``(verified, new_hash)``. ``new_hash`` is ``None`` unless the password
            matched and the stored hash is due for replacement, which is the case when
            only the typed form matched or the hash uses another scheme, weaker
            settings, no pepper or a retired pepper. It is then a fresh hash with the
            configured hasher and pepper.
        """
        if not isinstance(plain, str) or len(plain) > MAX_PASSWORD_LENGTH:
            # Over-long input is rejected before NFKC or hashing, so it costs no more
            # than a normal attempt. One dummy comparison keeps the timing of a miss.
            self._burn(b"", 1)
            return False, None

        normalized = normalize_password(plain)
        forms = [normalized] if normalized == plain else [normalized, plain]

        pepper_id, pepper, inner = self._split(hashed)
        hasher = self._hasher_for(inner)
        if hasher is None or (pepper_id is not None and pepper is None):
            # A row without a verifiable hash costs the same as one with a real hash,
            # so response time does not reveal which accounts have passwords.
            self._burn(pre_hash(normalized), len(forms))
            return False, None
        assert inner is not None

        for index, form in enumerate(forms):
            result = hasher.verify(pre_hash(form, pepper), inner)
            if result is None:
                # The hasher rejected the hash without work: pay the cost anyway.
                self._burn(pre_hash(normalized), len(forms) - index)
                return False, None
            if result:
                due = index > 0 or self._needs_update(hasher, inner, pepper_id)
                return True, self.hash(normalized) if due else None
        return False, None

    async def verify_and_update_async(
        self, plain: str, hashed: str | None
    ) -> tuple[bool, str | None]:
        """Run ``verify_and_update`` in a worker thread.

        Args:
            plain: The password as typed.
            hashed: The stored hash, or ``None``.

        Returns:
            ``(verified, new_hash)`` as ``verify_and_update`` returns them.
        """
        return await run_cpu_bound(self.verify_and_update, plain, hashed)

    def verify(self, plain: str, hashed: str | None) -> bool:
        """Check ``plain`` against ``hashed`` like ``verify_and_update``.

        Args:
            plain: The password as typed.
            hashed: The stored hash, or ``None``.

        Returns:
            Whether the password matches.
        """
        verified, _ = self.verify_and_update(plain, hashed)
        return verified

    async def verify_async(self, plain: str, hashed: str | None) -> bool:
        """Run ``verify`` in a worker thread.

        Args:
            plain: The password as typed.
            hashed: The stored hash, or ``None``.

        Returns:
            Whether the password matches.
        """
        return await run_cpu_bound(self.verify, plain, hashed)

    def needs_update(self, hashed: str) -> bool:
        """Return whether ``hashed`` would be replaced at the next successful check.

        Args:
            hashed: The stored hash.

        Returns:
            ``True`` when the hash uses another scheme, weaker settings, no pepper or a
            retired pepper; ``False`` for a hash no configured scheme recognizes.
        """
        pepper_id, _pepper, inner = self._split(hashed)
        hasher = self._hasher_for(inner)
        if hasher is None or inner is None:
            return False
        return self._needs_update(hasher, inner, pepper_id)

    def dummy_verify(self, plain: str) -> None:
        """Spend one password check against a dummy hash and discard the result.

        Args:
            plain: The password as typed.
        """
        self.verify_and_update(plain, None)

    def _needs_update(self, hasher: PasswordHasher, inner: str, pepper_id: str | None) -> bool:
        if hasher.scheme != self.hasher.scheme:
            return True
        if pepper_id != self._pepper_id:
            # Unpeppered while a pepper is set, or keyed by a retired pepper.
            return True
        return self.hasher.needs_update(inner)

    def _split(self, hashed: str | None) -> tuple[str | None, bytes | None, str | None]:
        """Return the pepper id, the pepper it names and the hasher's own string."""
        if not isinstance(hashed, str):
            return None, None, None
        if not hashed.startswith(PEPPERED_PREFIX):
            return None, None, hashed
        pepper_id, separator, inner = hashed[len(PEPPERED_PREFIX) :].partition("$")
        if not separator:
            return None, None, None
        # An unknown id (no pepper, or a pepper that was dropped) yields None.
        return pepper_id, self._peppers.get(pepper_id), "$" + inner

    def _hasher_for(self, inner: str | None) -> PasswordHasher | None:
        if inner is None:
            return None
        for hasher in self._verifiers:
            if hasher.identifies(inner):
                return hasher
        return None

    def _burn(self, candidate: bytes, times: int) -> None:
        dummy = self.hasher.dummy_hash()
        for _ in range(times):
            self.hasher.verify(candidate, dummy)
