"""Single-use ceremony challenges, bound to the browser that asked for them.

Options routes store a challenge under the SHA-256 of its bytes and set an HttpOnly
cookie with a random binding value. Verify routes read the challenge back from the
response's ``clientDataJSON``, consume the record atomically and compare the cookie.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from crudauth.core import CookieConfig
from crudauth.exceptions import BadRequestException
from crudauth.passkeys.config import PasskeyConfig
from crudauth.passkeys.constants import (
    BINDING_BYTES,
    CHALLENGE_BYTES,
    FOREIGN_CHALLENGE,
    INVALID_CHALLENGE,
    MALFORMED_CREDENTIAL,
    MAX_CREDENTIAL_ID_LENGTH,
    MAX_CREDENTIAL_JSON_BYTES,
)
from crudauth.passkeys.schemas import PasskeyChallenge
from crudauth.storage.base import AbstractSessionStorage

__all__ = ["Ceremonies", "credential_id_of", "decode_base64url"]


def _digest(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def decode_base64url(value: Any) -> bytes:
    """Decode unpadded base64url text.

    Args:
        value: The text to decode.

    Raises:
        BadRequestException: ``value`` is not a string, is too long, or is not
            base64url.
    """
    if not isinstance(value, str) or len(value) > MAX_CREDENTIAL_JSON_BYTES:
        raise BadRequestException(MALFORMED_CREDENTIAL)
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise BadRequestException(MALFORMED_CREDENTIAL) from None


def credential_id_of(credential: dict[str, Any]) -> str:
    """Return the credential's base64url id after checking its shape.

    Args:
        credential: The ``PublicKeyCredential`` JSON the browser sent.

    Raises:
        BadRequestException: The id is missing, too long or not base64url, differs
            from ``rawId``, or the type is not ``public-key``.
    """
    credential_id = credential.get("id")
    if (
        not isinstance(credential_id, str)
        or not credential_id
        or len(credential_id) > MAX_CREDENTIAL_ID_LENGTH
        or credential.get("rawId") != credential_id
        or credential.get("type") != "public-key"
    ):
        raise BadRequestException(MALFORMED_CREDENTIAL)
    decode_base64url(credential_id)
    return credential_id


def _challenge_of(credential: dict[str, Any]) -> bytes:
    """Return the challenge bytes the browser signed, from ``clientDataJSON``."""
    if len(json.dumps(credential)) > MAX_CREDENTIAL_JSON_BYTES:
        raise BadRequestException(MALFORMED_CREDENTIAL)
    response = credential.get("response")
    if not isinstance(response, dict):
        raise BadRequestException(MALFORMED_CREDENTIAL)
    raw = decode_base64url(response.get("clientDataJSON"))
    try:
        client_data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise BadRequestException(MALFORMED_CREDENTIAL) from None
    if not isinstance(client_data, dict):
        raise BadRequestException(MALFORMED_CREDENTIAL)
    challenge = decode_base64url(client_data.get("challenge"))
    if len(challenge) != CHALLENGE_BYTES:
        raise BadRequestException(INVALID_CHALLENGE)
    return challenge


class Ceremonies:
    """Issue and consume challenges in a store built with the challenge TTL.

    Args:
        store: Storage of pending ceremonies.
        config: The passkeys settings, for the TTL and the cookie name.
        cookies: The app's cookie policy, for ``path`` and ``secure``.
    """

    def __init__(
        self,
        store: AbstractSessionStorage[Any],
        config: PasskeyConfig,
        cookies: CookieConfig,
    ) -> None:
        self.store = store
        self.config = config
        self.cookies = cookies

    async def issue(
        self,
        response: Response,
        purpose: str,
        *,
        account_id: str | None = None,
        mfa_key: str | None = None,
    ) -> bytes:
        """Store a new challenge, set the binding cookie and return the challenge.

        Args:
            response: The options response that sets the binding cookie.
            purpose: The ceremony, such as registration or sign-in.
            account_id: The user a registration or MFA ceremony is for.
            mfa_key: SHA-256 hex of the MFA challenge token this ceremony finishes.

        Returns:
            The 32 random challenge bytes.

        Raises:
            StoreUnavailableError: The store is unreachable.
        """
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        binding = secrets.token_urlsafe(BINDING_BYTES)
        record = PasskeyChallenge(
            purpose=purpose,
            binding_digest=_digest(binding.encode("ascii")),
            account_id=account_id,
            mfa_key=mfa_key,
        )
        ttl = self.config.challenge_ttl_seconds
        await self.store.create(record, session_id=_digest(challenge), expiration=ttl)
        # HttpOnly and SameSite=Lax: scripts cannot read the binding and other sites'
        # POSTs do not carry it, so a challenge works only in the browser it went to.
        response.set_cookie(
            self.config.cookie_name,
            binding,
            max_age=ttl,
            path=self.cookies.path,
            secure=self.cookies.secure,
            httponly=True,
            samesite="lax",
        )
        return challenge

    async def consume(
        self, request: Request, response: Response, credential: dict[str, Any], purpose: str
    ) -> tuple[bytes, PasskeyChallenge]:
        """Consume the challenge that ``credential`` signed; return it with its record.

        The binding cookie is expired on ``response`` whatever the outcome.

        Args:
            request: The verify request with the binding cookie.
            response: The response that expires the binding cookie.
            credential: The ``PublicKeyCredential`` JSON the browser sent.
            purpose: The ceremony the challenge must have been issued for.

        Returns:
            ``(challenge, record)``.

        Raises:
            BadRequestException: A malformed credential, an unknown, expired, used or
                other-purpose challenge, or a binding cookie that is missing or
                belongs to another browser.
        """
        challenge = _challenge_of(credential)
        # Consuming atomically makes each challenge single-use, even under a race.
        record = await self.store.get_and_delete(_digest(challenge), PasskeyChallenge)
        response.delete_cookie(self.config.cookie_name, path=self.cookies.path)
        if record is None or record.purpose != purpose:
            raise BadRequestException(INVALID_CHALLENGE)
        binding = request.cookies.get(self.config.cookie_name, "")
        presented = _digest(binding.encode("utf-8", "surrogateescape"))
        # Stops a challenge captured from one browser being used in another.
        if not binding or not hmac.compare_digest(presented, record.binding_digest):
            raise BadRequestException(FOREIGN_CHALLENGE)
        return challenge, record
