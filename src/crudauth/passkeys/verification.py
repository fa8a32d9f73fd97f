"""Checks shared by every passkey ceremony: credential shape and assertion proof."""

from __future__ import annotations

import functools
import logging
from typing import Any

from starlette.requests import Request
from webauthn import verify_authentication_response
from webauthn.authentication.verify_authentication_response import VerifiedAuthentication
from webauthn.helpers.exceptions import WebAuthnException

from crudauth.core import AuthRuntime
from crudauth.exceptions import BadRequestException, ForbiddenException, UnauthorizedException
from crudauth.passkeys.ceremony import decode_base64url
from crudauth.passkeys.config import PasskeyConfig
from crudauth.passkeys.constants import (
    EVENT_SIGN_COUNT_REJECTED,
    MALFORMED_CREDENTIAL,
    SIGN_COUNT_WENT_BACKWARDS,
    VERIFICATION_FAILED,
)
from crudauth.passkeys.schemas import StoredPasskey
from crudauth.security_log import record_security_event
from crudauth.utils._cpu_threads import run_cpu_bound

__all__ = ["ASSERTION_FIELDS", "ATTESTATION_FIELDS", "check_fields", "verify_assertion"]

logger = logging.getLogger("crudauth.security")

# What py_webauthn and its decoders raise for a response that does not verify.
VERIFY_ERRORS = (WebAuthnException, ValueError, TypeError, KeyError, IndexError)

ATTESTATION_FIELDS = ("clientDataJSON", "attestationObject")
ASSERTION_FIELDS = ("clientDataJSON", "authenticatorData", "signature")


def check_fields(credential: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    """Return ``credential["response"]`` after checking each field is base64url.

    A bad field is a 400 here rather than a failed verification further on.

    Args:
        credential: The ``PublicKeyCredential`` JSON the browser sent.
        required: Names of the response fields that must be present.

    Raises:
        BadRequestException: The response is not an object, a field is missing or
            not base64url, or ``transports`` is not a list of strings.
    """
    response = credential.get("response")
    if not isinstance(response, dict):
        raise BadRequestException(MALFORMED_CREDENTIAL)
    for name in required:
        decode_base64url(response.get(name))
    user_handle = response.get("userHandle")
    if user_handle is not None:
        decode_base64url(user_handle)
    transports = response.get("transports", [])
    if not isinstance(transports, list) or not all(isinstance(t, str) for t in transports):
        raise BadRequestException(MALFORMED_CREDENTIAL)
    return response


async def verify_assertion(
    runtime: AuthRuntime,
    config: PasskeyConfig,
    *,
    credential: dict[str, Any],
    challenge: bytes,
    passkey: StoredPasskey,
    account_id: str,
    request: Request,
) -> VerifiedAuthentication:
    """Check an assertion's signature, origin, RP id and user verification.

    User verification is always required here.

    Args:
        runtime: The facade's shared state, for the security log.
        config: The passkeys settings with the RP id and origins.
        credential: The ``PublicKeyCredential`` JSON the browser sent.
        challenge: The challenge bytes the ceremony issued.
        passkey: The stored passkey the credential id names.
        account_id: The owner's id, for the logs.
        request: The request, for the security log.

    Returns:
        The library's verification result with the new signature counter.

    Raises:
        UnauthorizedException: The proof fails (401).
        ForbiddenException: The signature counter did not rise (403); this is also
            logged and recorded in the user's security log.
    """
    check = functools.partial(
        verify_authentication_response,
        credential=credential,
        expected_challenge=challenge,
        expected_rp_id=config.rp_id,
        expected_origin=list(config.origins),
        credential_public_key=decode_base64url(passkey.public_key),
        # The counter is compared below, so a rollback gets its own status and log line.
        credential_current_sign_count=0,
        # A passkey replaces a password and a second factor only with a PIN/biometric.
        require_user_verification=True,
    )
    try:
        verified = await run_cpu_bound(check)
    except VERIFY_ERRORS as exc:
        logger.warning(
            "passkey assertion rejected account_id=%s passkey_id=%s reason=%s",
            account_id,
            passkey.id,
            exc,
        )
        raise UnauthorizedException(VERIFICATION_FAILED) from None

    received, stored = verified.new_sign_count, passkey.sign_count
    # A counter that does not rise means two copies of the key exist: a cloned key.
    if (received > 0 or stored > 0) and received <= stored:
        logger.warning(
            "passkey sign count went backwards account_id=%s passkey_id=%s stored=%s received=%s",
            account_id,
            passkey.id,
            stored,
            received,
        )
        await record_security_event(
            runtime,
            account_id,
            EVENT_SIGN_COUNT_REJECTED,
            request=request,
            detail={"passkey_id": passkey.id, "stored": stored, "received": received},
        )
        raise ForbiddenException(SIGN_COUNT_WENT_BACKWARDS)
    return verified
