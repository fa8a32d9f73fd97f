"""A small OpenID Connect provider for tests and local demos; never for production.

It serves discovery, a JWKS with a fresh RSA key, ``/authorize`` (a sign-in form, or
an immediate redirect when a test queued an identity), ``/token`` with PKCE and
client-secret checks, ``/userinfo``, and GitHub-shaped ``/github/user`` and
``/github/user/emails``.
Tests flip ``FakeProvider.faults`` to make it misbehave: an error status, a delay, or
an ID token with a bad signature, audience, issuer or expiry.

Run it standalone on loopback::

    python examples/fake_oidc_provider.py --port 9000

then point an app at ``OIDC_ISSUER=http://127.0.0.1:9000`` with any client id.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import html
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

ID_TOKEN_LIFETIME_SECONDS = 300
CODE_LIFETIME_SECONDS = 60


@dataclass
class Identity:
    """One account at the fake provider."""

    sub: str = "fake-user-1"
    email: str | None = "ada@example.com"
    email_verified: Any = True
    name: str | None = "Ada Lovelace"
    given_name: str | None = "Ada"
    family_name: str | None = "Lovelace"
    preferred_username: str | None = "ada"
    picture: str | None = None
    github_id: int = 1001
    github_emails: list[dict[str, Any]] | None = None

    def claims(self) -> dict[str, Any]:
        """Return the standard OpenID Connect claims of this account."""
        values = {
            "sub": self.sub,
            "email": self.email,
            "email_verified": self.email_verified,
            "name": self.name,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "preferred_username": self.preferred_username,
            "picture": self.picture,
        }
        return {key: value for key, value in values.items() if value is not None}


@dataclass
class Grant:
    """An issued authorization code and what it was issued for."""

    identity: Identity
    client_id: str
    redirect_uri: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float


@dataclass
class FakeProvider:
    """The provider's state; tests change ``faults`` and queue identities directly.

    ``faults`` keys: ``token_status``/``userinfo_status`` (respond with that status),
    ``token_delay``/``userinfo_delay`` (seconds to wait first), ``token_body``/
    ``userinfo_body`` (respond with this JSON instead), and ``id_token`` set to one of
    ``bad_signature``, ``wrong_audience``, ``wrong_issuer``, ``expired``, ``missing``
    or ``other_subject``. ``discovery`` replaces the discovery document.
    """

    clients: dict[str, str] = field(default_factory=lambda: {"demo": ""})
    issuer: str = ""
    faults: dict[str, Any] = field(default_factory=dict)
    queued: deque[Identity | str] = field(default_factory=deque)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    auth_methods: list[str] = field(
        default_factory=lambda: ["client_secret_post", "client_secret_basic"]
    )

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = secrets.token_hex(8)
        # Signs the tokens that tests expect to be rejected for their signature.
        self.rogue_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.grants: dict[str, Grant] = {}
        self.access_tokens: dict[str, Identity] = {}

    def queue(self, identity: Identity | str) -> None:
        """Make the next ``/authorize`` redirect with ``identity`` or an error."""
        self.queued.append(identity)

    def reset(self) -> None:
        """Forget faults, queued answers, codes and recorded requests."""
        self.faults.clear()
        self.queued.clear()
        self.grants.clear()
        self.access_tokens.clear()
        self.token_requests.clear()
        self.authorize_requests.clear()

    # -- documents -----------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        if "discovery" in self.faults:
            document: dict[str, Any] = self.faults["discovery"]
            return document
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": self.auth_methods,
        }

    def jwks(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        public.update({"kid": self.key_id, "use": "sig", "alg": "RS256"})
        return {"keys": [public]}

    def id_token(self, identity: Identity, client_id: str) -> str | None:
        fault = self.faults.get("id_token")
        if fault == "missing":
            return None
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": identity.sub,
            "aud": client_id,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME_SECONDS,
            "email": identity.email,
        }
        key = self.key
        if fault == "bad_signature":
            key = self.rogue_key
        elif fault == "wrong_audience":
            claims["aud"] = "another-client"
        elif fault == "wrong_issuer":
            claims["iss"] = "https://issuer.invalid"
        elif fault == "expired":
            claims["iat"] = now - 3600
            claims["exp"] = now - 1800
        elif fault == "other_subject":
            claims["sub"] = f"{identity.sub}-other"
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.key_id})

    # -- flow steps --------------------------------------------------------------------

    def issue_code(self, identity: Identity, params: dict[str, str]) -> str:
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(
            identity=identity,
            client_id=params.get("client_id", ""),
            redirect_uri=params.get("redirect_uri", ""),
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method"),
            expires_at=time.monotonic() + CODE_LIFETIME_SECONDS,
        )
        return code

    def redeem(self, form: dict[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        """Check a token request; return the token response or an OAuth error body."""
        client_id = form.get("client_id") or (basic[0] if basic else "")
        if client_id not in self.clients:
            return {"error": "invalid_client"}
        secret = self.clients[client_id]
        presented = form.get("client_secret") or (basic[1] if basic else "")
        if secret and not secrets.compare_digest(presented, secret):
            return {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return {"error": "unsupported_grant_type"}
        grant = self.grants.pop(form.get("code", ""), None)
        if grant is None or grant.expires_at < time.monotonic():
            return {"error": "invalid_grant", "error_description": "unknown or used code"}
        if grant.client_id != client_id or grant.redirect_uri != form.get("redirect_uri"):
            return {"error": "invalid_grant", "error_description": "client or redirect_uri"}
        if grant.code_challenge is not None and not _pkce_matches(
            grant.code_challenge, form.get("code_verifier", "")
        ):
            return {"error": "invalid_grant", "error_description": "PKCE verifier mismatch"}
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = grant.identity
        response: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
        }
        id_token = self.id_token(grant.identity, client_id)
        if id_token is not None:
            response["id_token"] = id_token
        return response


def _pkce_matches(challenge: str, verifier: str) -> bool:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return secrets.compare_digest(expected, challenge)


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    decoded = base64.b64decode(header[6:]).decode()
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _redirect_back(redirect_uri: str, **params: str) -> RedirectResponse:
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(params)}", status_code=302)


SIGN_IN_PAGE = """<!doctype html>
<html><head><title>Fake provider sign-in</title></head>
<body><h1>Fake provider</h1><p>Sign in to <b>{client}</b> as:</p>
<form method="post" action="/authorize">{hidden}
<p><label>Email <input name="email" value="ada@example.com"></label></p>
<p><label>Name <input name="name" value="Ada Lovelace"></label></p>
<p><label><input type="checkbox" name="email_verified" checked> email verified</label></p>
<p><button name="decision" value="approve">Approve</button>
<button name="decision" value="deny">Deny</button></p>
</form></body></html>"""


def build_app(provider: FakeProvider) -> Starlette:
    """Return the ASGI app that serves ``provider``."""

    async def discovery(request: Request) -> Response:
        return JSONResponse(provider.discovery())

    async def jwks(request: Request) -> Response:
        return JSONResponse(provider.jwks())

    async def authorize(request: Request) -> Response:
        params = dict(request.query_params)
        provider.authorize_requests.append(params)
        if params.get("client_id") not in provider.clients:
            return HTMLResponse("unknown client_id", status_code=400)
        redirect_uri = params.get("redirect_uri", "")
        state = params.get("state", "")
        if provider.queued:
            answer = provider.queued.popleft()
            if isinstance(answer, str):
                return _redirect_back(redirect_uri, error=answer, state=state)
            return _redirect_back(
                redirect_uri, code=provider.issue_code(answer, params), state=state
            )
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(key)}" value="{html.escape(value)}">'
            for key, value in params.items()
        )
        page = SIGN_IN_PAGE.format(client=html.escape(params["client_id"]), hidden=hidden)
        return HTMLResponse(page)

    async def approve(request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        redirect_uri = form.get("redirect_uri", "")
        state = form.get("state", "")
        if form.get("client_id") not in provider.clients:
            return HTMLResponse("unknown client_id", status_code=400)
        if form.get("decision") != "approve":
            return _redirect_back(redirect_uri, error="access_denied", state=state)
        email = form.get("email", "")
        identity = Identity(
            sub="sub-" + hashlib.sha256(email.encode()).hexdigest()[:16],
            email=email or None,
            email_verified=form.get("email_verified") == "on",
            name=form.get("name") or None,
            given_name=None,
            family_name=None,
            preferred_username=email.split("@", 1)[0] or None,
        )
        return _redirect_back(redirect_uri, code=provider.issue_code(identity, form), state=state)

    async def token(request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        basic = _basic_credentials(request)
        provider.token_requests.append({"form": form, "basic": basic})
        await asyncio.sleep(float(provider.faults.get("token_delay", 0)))
        if "token_status" in provider.faults:
            return JSONResponse({"error": "server_error"}, provider.faults["token_status"])
        if "token_body" in provider.faults:
            return JSONResponse(provider.faults["token_body"])
        answer = provider.redeem(form, basic)
        provider.token_requests[-1]["answer"] = answer
        return JSONResponse(answer, status_code=400 if "error" in answer else 200)

    def bearer_identity(request: Request) -> Identity | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return None
        return provider.access_tokens.get(header[7:])

    async def userinfo(request: Request) -> Response:
        await asyncio.sleep(float(provider.faults.get("userinfo_delay", 0)))
        if "userinfo_status" in provider.faults:
            return JSONResponse({"error": "server_error"}, provider.faults["userinfo_status"])
        if "userinfo_body" in provider.faults:
            return JSONResponse(provider.faults["userinfo_body"])
        identity = bearer_identity(request)
        if identity is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse(identity.claims())

    async def github_user(request: Request) -> Response:
        identity = bearer_identity(request)
        if identity is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse(
            {
                "id": identity.github_id,
                "login": identity.preferred_username,
                "name": identity.name,
                "avatar_url": identity.picture,
            }
        )

    async def github_emails(request: Request) -> Response:
        identity = bearer_identity(request)
        if identity is None or identity.github_emails is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return JSONResponse(identity.github_emails)

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/jwks", jwks),
            Route("/authorize", authorize, methods=["GET"]),
            Route("/authorize", approve, methods=["POST"]),
            Route("/token", token, methods=["POST"]),
            Route("/userinfo", userinfo),
            Route("/github/user", github_user),
            Route("/github/user/emails", github_emails),
        ]
    )


class RunningProvider:
    """A fake provider served by uvicorn on a loopback port in a background thread."""

    def __init__(self, provider: FakeProvider, port: int = 0) -> None:
        self.provider = provider
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.port = int(self._socket.getsockname()[1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        provider.issuer = provider.issuer or self.base_url
        config = uvicorn.Config(build_app(provider), log_level="warning", lifespan="off", ws="none")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> RunningProvider:
        """Start serving and wait until the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake provider did not start within 10 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def url(self, path: str) -> str:
        """Return the absolute URL of ``path`` on this server."""
        return f"{self.base_url}{path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=9000, help="TCP port on 127.0.0.1")
    parser.add_argument(
        "--client-id",
        action="append",
        default=None,
        help="client id to accept, repeatable; the default accepts 'demo' without a secret",
    )
    arguments = parser.parse_args()
    clients = {client_id: "" for client_id in arguments.client_id or ["demo"]}
    provider = FakeProvider(clients=clients, issuer=f"http://127.0.0.1:{arguments.port}")
    print(f"fake OpenID Connect provider on {provider.issuer}")
    uvicorn.run(build_app(provider), host="127.0.0.1", port=arguments.port, log_level="info")


if __name__ == "__main__":
    main()
