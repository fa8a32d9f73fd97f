"""A software WebAuthn authenticator for tests: ES256 keys over ``cryptography``.

It builds the JSON a browser returns from ``navigator.credentials.create`` and
``.get``, with ``"none"`` attestation, and can set the user-verified flag, put a
different origin or RP id in the response, or replay an old signature counter.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from crudauth.passkeys import PasskeyConfig
from support import csrf_headers, login

ORIGIN = "https://testserver"
RP_ID = "testserver"

FLAG_USER_PRESENT = 0x01
FLAG_USER_VERIFIED = 0x04
FLAG_ATTESTED_DATA = 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftCredential:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    user_handle: bytes
    rp_id: str
    sign_count: int = 0


def _cose_public_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    numbers = key.public_key().public_numbers()
    # COSE EC2 key: kty 2 (EC2), alg -7 (ES256), crv 1 (P-256), x, y.
    return cbor2.dumps(
        {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
    )


@dataclass
class SoftAuthenticator:
    """A platform authenticator that keeps discoverable credentials in memory."""

    origin: str = ORIGIN
    user_verified: bool = True
    credentials: list[SoftCredential] = field(default_factory=list)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps(data).encode("utf-8")

    def _flags(self, extra: int = 0) -> int:
        flags = FLAG_USER_PRESENT | extra
        if self.user_verified:
            flags |= FLAG_USER_VERIFIED
        return flags

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        reuse: SoftCredential | None = None,
    ) -> dict[str, Any]:
        """Return a registration credential for ``options`` (creation options JSON).

        ``reuse`` responds with an existing credential instead of making a new one.
        """
        rp = rp_id or options["rp"]["id"]
        credential = reuse or SoftCredential(
            credential_id=secrets.token_bytes(16),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            user_handle=from_b64url(options["user"]["id"]),
            rp_id=options["rp"]["id"],
        )
        key = credential.private_key
        if reuse is None:
            self.credentials.append(credential)
        attested = (
            bytes(16)
            + struct.pack(">H", len(credential.credential_id))
            + credential.credential_id
            + _cose_public_key(key)
        )
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags(FLAG_ATTESTED_DATA)])
            + struct.pack(">I", credential.sign_count)
            + attested
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        credential_id = b64url(credential.credential_id)
        return {
            "id": credential_id,
            "rawId": credential_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        credential: SoftCredential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        sign_count: int | None = None,
        user_handle: bytes | None = None,
    ) -> dict[str, Any]:
        """Return an assertion for ``options`` (request options JSON).

        The counter rises by one per assertion unless ``sign_count`` sets it.
        """
        chosen = credential or self.credentials[-1]
        chosen.sign_count = chosen.sign_count + 1 if sign_count is None else sign_count
        rp = rp_id or chosen.rp_id
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags()])
            + struct.pack(">I", chosen.sign_count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = chosen.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        credential_id = b64url(chosen.credential_id)
        return {
            "id": credential_id,
            "rawId": credential_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(user_handle or chosen.user_handle),
            },
            "clientExtensionResults": {},
        }


def passkey_config(**overrides: Any) -> PasskeyConfig:
    values: dict[str, Any] = {"rp_id": RP_ID, "rp_name": "Example App", "origins": [ORIGIN]}
    values.update(overrides)
    return PasskeyConfig(**values)


async def sign_in_with_sudo(
    client: Any, username: str = "alice", password: str = "Correct-Horse-1"
) -> None:
    """Sign in with a password and enter sudo mode."""
    response = await login(client, username, password)
    assert response.status_code == 200, response.text
    response = await client.post("/sudo", json={"password": password}, headers=csrf_headers(client))
    assert response.status_code == 200, response.text


async def register_passkey(
    client: Any, authenticator: SoftAuthenticator, name: str = "Laptop"
) -> dict[str, Any]:
    """Register a passkey for the signed-in, elevated client; return the listed entry."""
    options = await client.post("/passkeys/register/options", headers=csrf_headers(client))
    assert options.status_code == 200, options.text
    credential = authenticator.create(options.json())
    verified = await client.post(
        "/passkeys/register/verify",
        json={"credential": credential, "name": name},
        headers=csrf_headers(client),
    )
    assert verified.status_code == 201, verified.text
    body: dict[str, Any] = verified.json()
    return body


async def passkey_login(client: Any, authenticator: SoftAuthenticator, **get_kwargs: Any) -> Any:
    """Run a discoverable sign-in and return the verify response."""
    options = await client.post("/passkeys/login/options")
    assert options.status_code == 200, options.text
    assertion = authenticator.get(options.json(), **get_kwargs)
    return await client.post("/passkeys/login/verify", json={"credential": assertion})
