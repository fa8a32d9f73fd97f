"""Stored shapes of passkeys and pending ceremonies, and the request bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from crudauth.mfa.challenges import MAX_CHALLENGE_LENGTH
from crudauth.passkeys.constants import MAX_PASSKEY_NAME_LENGTH

__all__ = [
    "CredentialOwner",
    "LoginVerifyIn",
    "MfaOptionsIn",
    "MfaVerifyIn",
    "PasskeyChallenge",
    "PasskeyOut",
    "RegisterOptionsIn",
    "RegisterVerifyIn",
    "StoredPasskey",
    "UserPasskeys",
]

# The owning user is named ``account_id`` rather than ``user_id`` throughout, so stores
# that index records per user leave passkey records out of the session index.


class StoredPasskey(BaseModel):
    """One registered passkey: its public key and what the account page shows."""

    # Public id used in URLs; random, so it reveals nothing about the credential.
    id: str
    # Base64url credential id and COSE public key, as the authenticator produced them.
    credential_id: str
    public_key: str
    sign_count: int = 0
    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    transports: list[str] = Field(default_factory=list)
    backed_up: bool = False
    device_type: str = "single_device"


class UserPasskeys(BaseModel):
    """All passkeys of one user, stored under ``user:<user id>``."""

    account_id: str
    # Random WebAuthn user handle, so authenticators never see the database id.
    user_handle: str
    passkeys: list[StoredPasskey] = Field(default_factory=list)


class CredentialOwner(BaseModel):
    """Index entry under ``credential:<sha256 of the credential id>``."""

    account_id: str


class PasskeyChallenge(BaseModel):
    """A ceremony whose options were sent and whose response is still due."""

    purpose: str
    # SHA-256 hex of the binding cookie's value: the browser that asked for options.
    binding_digest: str
    account_id: str | None = None
    # SHA-256 hex of the MFA challenge token this ceremony finishes (MFA only).
    mfa_key: str | None = None


class PasskeyOut(BaseModel):
    """A passkey as ``GET /passkeys`` lists it."""

    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backed_up: bool
    transports: list[str]


class RegisterOptionsIn(BaseModel):
    name: str | None = Field(default=None, max_length=MAX_PASSKEY_NAME_LENGTH)


class RegisterVerifyIn(BaseModel):
    credential: dict[str, Any]
    name: str | None = Field(default=None, max_length=MAX_PASSKEY_NAME_LENGTH)


class LoginVerifyIn(BaseModel):
    credential: dict[str, Any]


class MfaOptionsIn(BaseModel):
    challenge: str = Field(max_length=MAX_CHALLENGE_LENGTH)


class MfaVerifyIn(BaseModel):
    challenge: str = Field(max_length=MAX_CHALLENGE_LENGTH)
    credential: dict[str, Any]
