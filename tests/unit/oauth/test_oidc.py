"""Discovery, issuer checks and ID-token verification of the generic OIDC provider."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from crudauth.exceptions import BadRequestException
from crudauth.oauth import GenericOIDCProvider
from crudauth.oauth.providers.idtoken import IdTokenVerifier
from crudauth.oauth.providers.oidc import normalize_issuer

ISSUER = "https://id.example.com"
REDIRECT = "https://app.example.com/oauth/oidc/callback"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: Any, kid: str = "k1") -> dict[str, Any]:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    public.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return public


def discovery(**changes: Any) -> dict[str, Any]:
    document = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/auth",
        "token_endpoint": f"{ISSUER}/token",
        "userinfo_endpoint": f"{ISSUER}/userinfo",
        "jwks_uri": f"{ISSUER}/jwks",
    }
    document.update(changes)
    return document


def provider_for(document: Any, secret: str = "s", status: int = 200) -> GenericOIDCProvider:
    def handle(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == f"{ISSUER}/.well-known/openid-configuration"
        return httpx.Response(status, json=document)

    return GenericOIDCProvider(
        "client", secret, REDIRECT, issuer=ISSUER, transport=httpx.MockTransport(handle)
    )


@pytest.mark.parametrize(
    ("issuer", "expected"),
    [
        ("https://id.example.com/", "https://id.example.com"),
        (" https://id.example.com/realms/x// ", "https://id.example.com/realms/x"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_normalize_issuer_accepts(issuer: str, expected: str) -> None:
    assert normalize_issuer(issuer) == expected


@pytest.mark.parametrize(
    "issuer",
    [
        "",
        "   ",
        "id.example.com",
        "ftp://id.example.com",
        "https://",
        "https://id.example.com?x=1",
        "https://id.example.com#frag",
        "http://id.example.com",
        "http://10.0.0.1",
    ],
)
def test_normalize_issuer_rejects(issuer: str) -> None:
    with pytest.raises(ValueError):
        normalize_issuer(issuer)


async def test_discovery_resolves_endpoints() -> None:
    provider = provider_for(discovery(issuer=f"{ISSUER}/"))
    await provider.initialize()
    assert provider.authorize_endpoint == f"{ISSUER}/auth"
    assert provider.token_endpoint == f"{ISSUER}/token"
    assert provider.userinfo_endpoint == f"{ISSUER}/userinfo"
    assert provider.jwks_uri == f"{ISSUER}/jwks"
    assert provider.discovery_document is not None
    assert provider.verifies_id_tokens is True


async def test_outbound_before_discovery_raises() -> None:
    provider = provider_for(discovery())
    with pytest.raises(RuntimeError, match=r"auth\.initialize\(\)"):
        provider.get_authorization_url()
    with pytest.raises(RuntimeError, match=r"auth\.initialize\(\)"):
        await provider.exchange_code("code")
    with pytest.raises(RuntimeError, match=r"auth\.initialize\(\)"):
        await provider.fetch_profile({"access_token": "t"})


async def test_discovery_issuer_mismatch() -> None:
    with pytest.raises(ValueError, match="issuer mismatch"):
        await provider_for(discovery(issuer="https://evil.example.com")).initialize()


async def test_discovery_missing_endpoints() -> None:
    document = discovery()
    del document["token_endpoint"], document["userinfo_endpoint"]
    with pytest.raises(ValueError, match="token_endpoint, userinfo_endpoint"):
        await provider_for(document).initialize()


async def test_discovery_not_an_object() -> None:
    with pytest.raises(ValueError, match="not a JSON object"):
        await provider_for(["issuer"]).initialize()


async def test_discovery_http_error() -> None:
    with pytest.raises(httpx.HTTPStatusError):
        await provider_for(discovery(), status=503).initialize()


async def test_explicit_endpoints_skip_discovery() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("discovery must not run")

    provider = GenericOIDCProvider(
        "client",
        "",
        REDIRECT,
        issuer=ISSUER,
        authorize_endpoint="https://a",
        token_endpoint="https://t",
        userinfo_endpoint="https://u",
        transport=httpx.MockTransport(refuse),
    )
    await provider.initialize()
    assert provider.verifies_id_tokens is False


@pytest.mark.parametrize(
    ("methods", "secret", "expected"),
    [
        (None, "s", "client_secret_post"),
        (["client_secret_basic"], "s", "client_secret_basic"),
        (["client_secret_basic", "client_secret_post"], "s", "client_secret_post"),
        (["private_key_jwt"], "s", "client_secret_post"),
        (["client_secret_basic"], "", "client_secret_post"),
    ],
)
async def test_token_auth_method(methods: Any, secret: str, expected: str) -> None:
    document = discovery()
    if methods is not None:
        document["token_endpoint_auth_methods_supported"] = methods
    provider = provider_for(document, secret=secret)
    await provider.initialize()
    assert provider.token_auth_method == expected


async def test_from_discovery_initializes() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=discovery())

    provider = await GenericOIDCProvider.from_discovery(
        ISSUER, "client", "", REDIRECT, provider_name="corp", transport=httpx.MockTransport(handle)
    )
    assert provider.provider_name == "corp"
    assert provider.token_endpoint == f"{ISSUER}/token"


async def test_process_user_info_requires_sub() -> None:
    provider = provider_for(discovery())
    with pytest.raises(BadRequestException):
        await provider.process_user_info({"email": "a@b.io"})
    info = await provider.process_user_info(
        {"sub": "abc", "preferred_username": "abby", "email": "a@b.io", "email_verified": True}
    )
    assert info.username == "abby"
    assert info.email_verified is True


def sign(claims: dict[str, Any], key: Any = KEY, **headers: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": "client", "sub": "abc", "iat": now, "exp": now + 300}
    payload.update(claims)
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1", **headers})


def verifier(keys: list[dict[str, Any]] | None = None) -> tuple[IdTokenVerifier, list[int]]:
    fetches: list[int] = []

    async def fetch() -> Any:
        fetches.append(1)
        return {"keys": keys if keys is not None else [jwk(KEY)]}

    return IdTokenVerifier(issuer=ISSUER, client_id="client", fetch_jwks=fetch), fetches


async def test_id_token_valid() -> None:
    check, fetches = verifier()
    assert (await check.verify(sign({})))["sub"] == "abc"
    assert (await check.verify(sign({"iss": f"{ISSUER}/"})))["sub"] == "abc"
    assert len(fetches) == 1


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "https://other.example.com"}, "issuer"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"aud": ["client", "other"], "azp": "other"}, "azp"),
    ],
)
async def test_id_token_claims_rejected(claims: dict[str, Any], message: str) -> None:
    check, _ = verifier()
    with pytest.raises(ValueError, match=rf"(?i){message}"):
        await check.verify(sign(claims))


async def test_id_token_missing_claim_rejected() -> None:
    check, _ = verifier()
    token = jwt.encode(
        {"iss": ISSUER, "aud": "client", "exp": int(time.time()) + 60},
        KEY,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    with pytest.raises(ValueError):
        await check.verify(token)


@pytest.mark.parametrize("id_token", ["not-a-jwt", "\ud800.e30.sig"])
async def test_id_token_malformed_rejected(id_token: str) -> None:
    check, _ = verifier()

    with pytest.raises(ValueError, match="malformed id_token"):
        await check.verify(id_token)


async def test_id_token_bad_signature() -> None:
    check, _ = verifier()
    with pytest.raises(ValueError, match=r"(?i)signature"):
        await check.verify(sign({}, key=OTHER_KEY))


@pytest.mark.parametrize("algorithm", ["none", "HS256"])
async def test_id_token_weak_algorithms_rejected(algorithm: str) -> None:
    check, _ = verifier()
    key = "a-shared-secret-that-is-long-enough-32b" if algorithm == "HS256" else None
    token = jwt.encode({"sub": "abc"}, key, algorithm=algorithm)
    with pytest.raises(ValueError, match="not accepted"):
        await check.verify(token)


async def test_id_token_unknown_key_refetches() -> None:
    keys = [jwk(KEY, kid="old")]
    check, fetches = verifier(keys)
    assert await check.verify(sign({}, kid="old"))
    keys.append(jwk(OTHER_KEY, kid="new"))
    assert await check.verify(sign({}, key=OTHER_KEY, kid="new"))
    assert len(fetches) == 2
    with pytest.raises(ValueError, match="does not publish"):
        await check.verify(sign({}, kid="missing"))


async def test_id_token_missing_or_garbage() -> None:
    check, _ = verifier()
    for token in (None, "", "not-a-jwt", 42):
        with pytest.raises(ValueError):
            await check.verify(token)
