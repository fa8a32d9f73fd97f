"""Verification of OpenID Connect ID tokens against the issuer's JSON Web Key Set."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import jwt

from crudauth.oauth.constants import OIDC_CLOCK_SKEW_SECONDS, OIDC_ID_TOKEN_ALGORITHMS

__all__ = ["IdTokenVerifier"]

_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]

JwksFetcher = Callable[[], Awaitable[Any]]


class IdTokenVerifier:
    """Check an ID token's signature, issuer, audience and lifetime.

    Keys come from ``fetch_jwks`` and are cached. A token naming a key id the cache
    lacks makes one new fetch, so a provider's key rotation needs no restart. Every
    verification failure raises ``ValueError``.

    Args:
        issuer: The configured issuer URL; the ``iss`` claim must equal it, ignoring
            trailing slashes.
        client_id: The client id the ``aud`` claim must contain.
        fetch_jwks: Coroutine function returning the issuer's JWKS document.
    """

    def __init__(self, *, issuer: str, client_id: str, fetch_jwks: JwksFetcher) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self._fetch_jwks = fetch_jwks
        self._keys: dict[str, dict[str, Any]] | None = None

    async def verify(self, id_token: Any) -> dict[str, Any]:
        """Check ``id_token`` and return its claims.

        Args:
            id_token: The ``id_token`` value of the token response.

        Returns:
            The verified claims.

        Raises:
            ValueError: The token is missing or malformed, uses an algorithm outside
                the fixed list, is signed with an unknown key, or fails the signature,
                issuer, audience, ``azp`` or lifetime checks.
        """
        if not isinstance(id_token, str) or not id_token:
            raise ValueError("token response has no id_token")
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise ValueError(f"malformed id_token: {exc}") from None
        except UnicodeEncodeError:
            # A lone surrogate in the JSON token response has no UTF-8 form.
            raise ValueError("malformed id_token: not encodable as UTF-8") from None
        algorithm = header.get("alg")
        # The algorithm list is fixed here, never taken from the token, so a token
        # cannot downgrade itself to "none" or to HMAC with a public key as secret.
        if algorithm not in OIDC_ID_TOKEN_ALGORITHMS:
            raise ValueError(f"id_token algorithm {algorithm!r} is not accepted")
        key = await self._signing_key(header.get("kid"), algorithm)
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key.key,
                algorithms=[algorithm],
                audience=self.client_id,
                leeway=OIDC_CLOCK_SKEW_SECONDS,
                options={"require": _REQUIRED_CLAIMS, "verify_iss": False},
            )
        except jwt.PyJWTError as exc:
            raise ValueError(f"id_token rejected: {exc}") from None
        self._check_issuer(claims)
        self._check_authorized_party(claims)
        return claims

    def _check_issuer(self, claims: dict[str, Any]) -> None:
        # A token minted by another issuer, even one sharing the key set, is refused.
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or issuer.rstrip("/") != self.issuer.rstrip("/"):
            raise ValueError("id_token issuer does not match the configured issuer")

    def _check_authorized_party(self, claims: dict[str, Any]) -> None:
        # With several audiences, azp names the client the token was issued to.
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1:
            if claims.get("azp") != self.client_id:
                raise ValueError("id_token azp does not name this client")

    async def _signing_key(self, key_id: Any, algorithm: str) -> jwt.PyJWK:
        keys = self._keys if self._keys is not None else await self._load_keys()
        entry = _pick_key(keys, key_id)
        if entry is None and self._keys is not None:
            entry = _pick_key(await self._load_keys(), key_id)
        if entry is None:
            raise ValueError("id_token is signed with a key the issuer does not publish")
        # A key published for one algorithm must not verify tokens of another.
        if "alg" in entry and entry["alg"] != algorithm:
            raise ValueError("id_token algorithm does not match its key")
        try:
            return jwt.PyJWK(entry, algorithm)
        except jwt.PyJWTError as exc:
            raise ValueError(f"unusable signing key: {exc}") from None

    async def _load_keys(self) -> dict[str, dict[str, Any]]:
        document = await self._fetch_jwks()
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("JWKS document is not a JSON object with a keys list")
        keys: dict[str, dict[str, Any]] = {}
        for index, entry in enumerate(document["keys"]):
            # Encryption keys never verify signatures.
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            keys[str(entry.get("kid", f"#{index}"))] = entry
        self._keys = keys
        return keys


def _pick_key(keys: dict[str, dict[str, Any]], key_id: Any) -> dict[str, Any] | None:
    if isinstance(key_id, str):
        return keys.get(key_id)
    # A token without a key id is accepted only when the set leaves no choice.
    return next(iter(keys.values())) if len(keys) == 1 else None
