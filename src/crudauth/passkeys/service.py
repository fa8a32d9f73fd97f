"""``PasskeyService``: options, registration, listing and removal of passkeys."""

from __future__ import annotations

import functools
import json
import logging
import secrets
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from crudauth.core import AuthRuntime
from crudauth.exceptions import BadRequestException, NotFoundException
from crudauth.passkeys.ceremony import Ceremonies, credential_id_of, decode_base64url
from crudauth.passkeys.config import PasskeyConfig
from crudauth.passkeys.constants import (
    ALREADY_REGISTERED,
    EVENT_PASSKEY_ADDED,
    EVENT_PASSKEY_REMOVED,
    INVALID_CHALLENGE,
    PASSKEY_ID_BYTES,
    PASSKEY_NOT_FOUND,
    PURPOSE_LOGIN,
    PURPOSE_REGISTER,
    TOO_MANY_PASSKEYS,
    VERIFICATION_FAILED,
)
from crudauth.passkeys.schemas import PasskeyOut, StoredPasskey
from crudauth.passkeys.signin import PasskeySignIn
from crudauth.passkeys.storage import PasskeyStore
from crudauth.passkeys.verification import ATTESTATION_FIELDS, VERIFY_ERRORS, check_fields
from crudauth.security_log import record_security_event
from crudauth.transports.session.keys import same_text
from crudauth.utils._cpu_threads import run_cpu_bound

__all__ = ["PasskeyService"]

logger = logging.getLogger("crudauth.security")

DEFAULT_PASSKEY_NAME = "Passkey"


def _options_body(options: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(options_to_json(options))
    return body


def _descriptor(passkey: StoredPasskey) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(id=decode_base64url(passkey.credential_id))


class PasskeyService(PasskeySignIn):
    """Passkey ceremonies over a ``PasskeyStore`` and single-use ``Ceremonies``.

    Registration requires user verification unless ``user_verification`` is
    ``"preferred"``, while sign-in and the MFA step always require it. ``CRUDAuth``
    builds one from ``passkeys=`` and mounts its routes.

    Args:
        runtime: The facade's shared state.
        config: The passkeys settings.
        passkeys: The store of saved passkeys.
        ceremonies: The store of pending ceremonies.
    """

    def __init__(
        self,
        runtime: AuthRuntime,
        config: PasskeyConfig,
        passkeys: PasskeyStore,
        ceremonies: Ceremonies,
    ) -> None:
        self.runtime = runtime
        self.repo = runtime.repo
        self.config = config
        self.passkeys = passkeys
        self.ceremonies = ceremonies

    def _user_verification(self) -> UserVerificationRequirement:
        return UserVerificationRequirement(self.config.user_verification)

    # -- listing and removal -----------------------------------------------------------

    async def list_passkeys(self, user: Any) -> list[PasskeyOut]:
        """Return the user's passkeys, oldest first.

        Args:
            user: The user row.
        """
        record = await self.passkeys.for_user(str(self.repo.user_id(user)))
        if record is None:
            return []
        return [PasskeyOut.model_validate(p.model_dump()) for p in record.passkeys]

    async def remove_passkey(self, user: Any, passkey_id: str, *, request: Request) -> None:
        """Delete one of the user's passkeys and write a security-log event.

        Args:
            user: The user row.
            passkey_id: The passkey's public id.
            request: The request, for the security log.

        Raises:
            NotFoundException: The user has no passkey with that id; unknown,
                malformed and other users' ids get the same 404.
        """
        account_id = str(self.repo.user_id(user))
        removed = await self.passkeys.remove(account_id, passkey_id)
        # Unknown, malformed and other users' ids share one 404, so nothing leaks.
        if removed is None:
            raise NotFoundException(PASSKEY_NOT_FOUND)
        await record_security_event(
            self.runtime,
            account_id,
            EVENT_PASSKEY_REMOVED,
            request=request,
            detail={"passkey_id": removed.id, "name": removed.name},
        )

    # -- registration ------------------------------------------------------------------

    async def registration_options(self, user: Any, response: Response) -> dict[str, Any]:
        """Start registering a discoverable passkey.

        The user's existing passkeys are excluded, so an authenticator cannot hold two
        for this account.

        Args:
            user: The user row.
            response: The response that sets the binding cookie.

        Returns:
            The ``PublicKeyCredentialCreationOptions`` as JSON.
        """
        account_id = str(self.repo.user_id(user))
        record = await self.passkeys.ensure_user(account_id)
        challenge = await self.ceremonies.issue(response, PURPOSE_REGISTER, account_id=account_id)
        user_name = str(self.repo.get(user, "username") or self.repo.get(user, "email") or "")
        options = generate_registration_options(
            rp_id=self.config.rp_id,
            rp_name=self.config.rp_name,
            user_name=user_name or account_id,
            user_id=decode_base64url(record.user_handle),
            challenge=challenge,
            timeout=self.config.timeout_ms,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=self._user_verification(),
            ),
            # The browser refuses to create a second passkey on the same authenticator.
            exclude_credentials=[_descriptor(p) for p in record.passkeys],
        )
        return _options_body(options)

    async def register(
        self,
        user: Any,
        credential: dict[str, Any],
        name: str | None,
        *,
        request: Request,
        response: Response,
    ) -> PasskeyOut:
        """Verify a registration response and save the passkey.

        Args:
            user: The user row.
            credential: The ``PublicKeyCredential`` JSON the browser sent.
            name: A label for the passkey; empty uses ``"Passkey"``.
            request: The request with the binding cookie.
            response: The response that expires the binding cookie.

        Returns:
            The saved passkey as the list shows it.

        Raises:
            BadRequestException: A malformed credential, a challenge that is not this
                user's pending registration, a response that does not verify, a
                credential that is already registered, or a full passkey list.
        """
        account_id = str(self.repo.user_id(user))
        credential_id_of(credential)
        response_fields = check_fields(credential, ATTESTATION_FIELDS)
        challenge, ceremony = await self.ceremonies.consume(
            request, response, credential, PURPOSE_REGISTER
        )
        # A registration started in another account's session cannot land here.
        if ceremony.account_id is None or not same_text(ceremony.account_id, account_id):
            raise BadRequestException(INVALID_CHALLENGE)

        check = functools.partial(
            verify_registration_response,
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=self.config.rp_id,
            expected_origin=list(self.config.origins),
            require_user_verification=self.config.user_verification == "required",
        )
        try:
            verified = await run_cpu_bound(check)
        except VERIFY_ERRORS as exc:
            logger.warning("passkey registration rejected account_id=%s reason=%s", account_id, exc)
            raise BadRequestException(VERIFICATION_FAILED) from None

        passkey = StoredPasskey(
            id=secrets.token_urlsafe(PASSKEY_ID_BYTES),
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count,
            name=(name or "").strip() or DEFAULT_PASSKEY_NAME,
            created_at=datetime.now(timezone.utc),
            transports=list(response_fields.get("transports", [])),
            backed_up=verified.credential_backed_up,
            device_type=str(verified.credential_device_type.value),
        )
        refusal = await self.passkeys.add(
            account_id, passkey, limit=self.config.max_passkeys_per_user
        )
        if refusal == "duplicate":
            raise BadRequestException(ALREADY_REGISTERED)
        if refusal is not None:
            raise BadRequestException(TOO_MANY_PASSKEYS)
        await record_security_event(
            self.runtime,
            account_id,
            EVENT_PASSKEY_ADDED,
            request=request,
            detail={"passkey_id": passkey.id, "name": passkey.name},
        )
        return PasskeyOut.model_validate(passkey.model_dump())

    # -- sign-in options ---------------------------------------------------------------

    async def login_options(self, response: Response) -> dict[str, Any]:
        """Start a discoverable sign-in: no username, so no credential list.

        Args:
            response: The response that sets the binding cookie.

        Returns:
            The ``PublicKeyCredentialRequestOptions`` as JSON.
        """
        challenge = await self.ceremonies.issue(response, PURPOSE_LOGIN)
        options = generate_authentication_options(
            rp_id=self.config.rp_id,
            challenge=challenge,
            timeout=self.config.timeout_ms,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return _options_body(options)

    def _assertion_options(self, challenge: bytes, passkeys: list[StoredPasskey]) -> dict[str, Any]:
        options = generate_authentication_options(
            rp_id=self.config.rp_id,
            challenge=challenge,
            timeout=self.config.timeout_ms,
            allow_credentials=[_descriptor(p) for p in passkeys],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return _options_body(options)
