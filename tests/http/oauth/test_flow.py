"""The whole sign-in against the fake provider over real HTTP."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography.fernet import Fernet

from crudauth import AuthHooks, MfaConfig, is_unusable_password
from crudauth.oauth.schemas import OAuthState
from crudauth.ratelimit import RateLimit
from oauth_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    callback_error,
    fake_provider_module,
    mfa_oidc_model,
    oidc_model,
    oidc_settings,
    query,
    sign_in,
    visit_provider,
)


async def test_flow_creates_user_and_session(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue(fake_identity(fake))
    async with app.client() as client:
        done = await sign_in(client)
        assert done.status_code == 307, done.text
        assert done.headers["location"] == "/dashboard"
        assert "session_id" in client.cookies
        assert "csrf_token" in client.cookies
        me = await client.get("/me")
        assert me.status_code == 200, me.text
        assert me.json()["email"] == "ada@example.com"
        assert me.json()["via"] == "session"
    async with app.sessionmaker() as db:
        user = await app.auth.repo.get_by_email(db, "ada@example.com")
    assert user.oidc_id == "fake-user-1"
    assert user.oauth_provider == "oidc"
    assert user.email_verified is True
    assert user.username == "ada"
    assert is_unusable_password(user.hashed_password)


async def test_authorize_sets_state_cookie(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    async with app.client() as client:
        started = await client.get("/oauth/oidc/authorize", params={"redirect_to": "/x"})
    assert started.status_code == 307, started.text
    location = started.headers["location"]
    assert location.startswith(fake.url("/authorize?"))
    params = query(location)
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == "https://testserver/oauth/oidc/callback"
    assert params["response_type"] == "code"
    assert params["scope"] == "openid profile email"
    assert params["code_challenge_method"] == "S256"
    assert "code_verifier" not in params
    cookie = started.headers["set-cookie"]
    assert cookie.startswith(f"oauth_state={params['state']};")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Max-Age=1800" in cookie
    assert "Secure" in cookie
    assert started.headers["cache-control"] == "no-store"


async def test_session_metadata_marks_oauth(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue(fake_identity(fake))
    async with app.client() as client:
        await sign_in(client)
        record = await app.auth.sessions.get_session(client.cookies["session_id"])
    assert record is not None
    assert record.metadata["login_type"] == "oauth"
    assert record.metadata["oauth_provider"] == "oidc"
    assert record.token_version == 0


async def test_callback_replaces_presented_session(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue(fake_identity(fake))
    fake.provider.queue(fake_identity(fake))
    async with app.client() as client:
        await sign_in(client)
        first = client.cookies["session_id"]
        await sign_in(client)
        second = client.cookies["session_id"]
        assert first != second
        assert await app.auth.sessions.get_session(first) is None
        assert await app.auth.sessions.get_session(second) is not None


async def test_second_sign_in_finds_same_user(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    ids = []
    for _ in range(2):
        fake.provider.queue(fake_identity(fake))
        async with app.client() as client:
            await sign_in(client)
            ids.append((await client.get("/me")).json()["user_id"])
    assert ids[0] == ids[1]


async def test_pkce_verifier_reaches_token_endpoint(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue(fake_identity(fake))
    async with app.client() as client:
        done = await sign_in(client)
    assert done.status_code == 307
    authorize = fake.provider.authorize_requests[-1]
    form = fake.provider.token_requests[-1]["form"]
    assert form["code_verifier"]
    assert form["code_verifier"] not in str(authorize)
    # The fake provider already checked S256(verifier) == challenge; check it here too.
    digest = hashlib.sha256(form["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == authorize["code_challenge"]


async def test_wrong_pkce_verifier_fails(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue(fake_identity(fake))
    store = app.auth._oauth.state_store
    async with app.client() as client:
        started = await client.get("/oauth/oidc/authorize")
        state = query(started.headers["location"])["state"]

        # Swap the stored verifier, as a code injected from another flow would carry.
        def other_verifier(record: Any) -> None:
            record.code_verifier = "x" * 64

        assert await store.modify(state, OAuthState, other_verifier) is not None
        at_provider = await visit_provider(started.headers["location"])
        done = await client.get(at_provider.headers["location"])
        assert done.status_code == 307
        assert callback_error(done) == "oauth_failed"
        assert (await client.get("/me")).status_code == 401
    answer = fake.provider.token_requests[-1]["answer"]
    assert answer["error_description"] == "PKCE verifier mismatch"


async def test_client_secret_basic_when_only_basic(make_app: Any, fake: Any) -> None:
    fake.provider.auth_methods = ["client_secret_basic"]
    app = await make_app(oidc_model(), **oidc_settings(fake))
    fake.provider.queue(fake_identity(fake))
    async with app.client() as client:
        done = await sign_in(client)
    assert done.status_code == 307
    assert callback_error(done) is None
    request = fake.provider.token_requests[-1]
    assert request["basic"] == (CLIENT_ID, CLIENT_SECRET)
    assert "client_secret" not in request["form"]


async def test_public_client_sends_no_secret(make_app: Any, fake: Any) -> None:
    fake.provider.clients = {CLIENT_ID: ""}
    app = await make_app(oidc_model(), **oidc_settings(fake, client_secret=""))
    fake.provider.queue(fake_identity(fake))
    async with app.client() as client:
        done = await sign_in(client)
        assert (await client.get("/me")).status_code == 200
    assert done.headers["location"] == "/dashboard"
    request = fake.provider.token_requests[-1]
    assert request["basic"] is None
    assert "client_secret" not in request["form"]


async def test_hooks_fire_in_order(make_app: Any, fake: Any) -> None:
    calls: list[tuple[str, Any]] = []

    def on_register(user: Any, *, db: Any, context: Any) -> None:
        calls.append(("register", context.transport))

    def on_oauth(user: Any, info: Any, *, db: Any, created: bool, context: Any) -> None:
        calls.append(("oauth", (info.provider, created)))

    def on_login(user: Any, *, request: Any, context: Any) -> None:
        calls.append(("login", (context.transport, bool(context.session_handle))))

    hooks = AuthHooks(
        on_after_register=on_register, on_oauth_login=on_oauth, on_after_login=on_login
    )
    app = await make_app(oidc_model(), hooks=hooks, **oidc_settings(fake))
    fake.provider.queue(fake_identity(fake))
    fake.provider.queue(fake_identity(fake))
    async with app.client() as client:
        await sign_in(client)
        await sign_in(client)
    assert calls == [
        ("register", "oauth"),
        ("oauth", ("oidc", True)),
        ("login", ("oauth", True)),
        ("oauth", ("oidc", False)),
        ("login", ("oauth", True)),
    ]


async def test_raising_hook_does_not_block(make_app: Any, fake: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("hook failure")

    hooks = AuthHooks(on_after_register=broken, on_oauth_login=broken)
    app = await make_app(oidc_model(), hooks=hooks, **oidc_settings(fake))
    fake.provider.queue(fake_identity(fake))
    async with app.client() as client:
        done = await sign_in(client)
        assert done.headers["location"] == "/dashboard"
        assert (await client.get("/me")).status_code == 200


async def test_new_user_fields_run_on_oauth(make_app: Any, fake: Any) -> None:
    seen: list[Any] = []

    def fields(ctx: Any) -> dict[str, Any]:
        seen.append(ctx)
        return {"full_name": ctx.suggested_name, "is_superuser": True}

    app = await make_app(oidc_model(), new_user_fields=fields, **oidc_settings(fake))
    fake.provider.queue(fake_identity(fake))
    async with app.client() as client:
        await sign_in(client)
    assert len(seen) == 1
    assert seen[0].source == "oauth"
    assert seen[0].oauth.provider == "oidc"
    assert seen[0].register_data is None
    async with app.sessionmaker() as db:
        user = await app.auth.repo.get_by_email(db, "ada@example.com")
    assert user.full_name == "Ada Lovelace"
    assert user.is_superuser is False


async def test_json_mode_returns_body(make_app: Any, fake: Any) -> None:
    app = await make_app(oidc_model(), oauth_response_mode="json", **oidc_settings(fake))
    fake.provider.queue(fake_identity(fake))
    async with app.client() as client:
        started = await client.get("/oauth/oidc/authorize", params={"redirect_to": "/home"})
        assert started.status_code == 200, started.text
        url = started.json()["url"]
        at_provider = await visit_provider(url)
        done = await client.get(at_provider.headers["location"])
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["redirect_to"] == "/home"
        assert body["user"]["email"] == "ada@example.com"
        assert set(body["user"]) == {"user_id", "username", "email", "is_superuser"}
        assert body["csrf_token"] == client.cookies["csrf_token"]
        assert (await client.get("/me")).status_code == 200


@pytest.mark.parametrize("path", ["/oauth/nope/authorize", "/oauth/nope/callback"])
async def test_unknown_provider_is_400(make_app: Any, fake: Any, path: str) -> None:
    app = await make_app(oidc_model(), **oidc_settings(fake))
    async with app.client() as client:
        response = await client.get(path)
    assert response.status_code == 400, response.text
    assert response.json() == {"detail": "Unknown or unconfigured OAuth provider: 'nope'"}
    assert "oauth_state" not in response.headers.get("set-cookie", "")


async def test_authorize_is_rate_limited(make_app: Any, fake: Any) -> None:
    app = await make_app(
        oidc_model(), rate_limits={"oauth_authorize": RateLimit(2, 60)}, **oidc_settings(fake)
    )
    async with app.client() as client:
        statuses = [(await client.get("/oauth/oidc/authorize")).status_code for _ in range(3)]
    assert statuses == [307, 307, 429]


async def test_custom_paths_and_default_redirect(make_app: Any, fake: Any) -> None:
    app = await make_app(
        oidc_model(),
        oauth_paths={"prefix": "/auth/ext", "callback_path": "/{provider}/return"},
        oauth_default_redirect="/welcome",
        **oidc_settings(fake),
    )
    fake.provider.queue(fake_identity(fake))
    async with app.client() as client:
        started = await client.get("/auth/ext/oidc/authorize", params={"redirect_to": "//evil"})
        redirect_uri = query(started.headers["location"])["redirect_uri"]
        assert redirect_uri == "https://testserver/auth/ext/oidc/return"
        at_provider = await visit_provider(started.headers["location"])
        done = await client.get(at_provider.headers["location"])
    assert done.headers["location"] == "/welcome"


def fake_identity(fake: Any, **changes: Any) -> Any:
    return fake_provider_module().Identity(**changes)


async def test_mfa_challenges_oauth_sign_in(make_app: Any, fake: Any) -> None:
    mfa = MfaConfig(issuer="test", encryption_key=Fernet.generate_key(), required=True, oauth=True)
    app = await make_app(mfa_oidc_model(), mfa=mfa, **oidc_settings(fake))
    fake.provider.queue(fake_identity(fake))
    async with app.client() as client:
        done = await sign_in(client)
        assert done.status_code == 307, done.text
        location = done.headers["location"]
        assert location.startswith("https://testserver#mfa_challenge=")
        assert "session_id" not in client.cookies
        assert (await client.get("/me")).status_code == 401
        token = location.split("#mfa_challenge=", 1)[1]
        described = await client.post("/mfa/challenge", json={"challenge": token})
        assert described.status_code == 200, described.text
        assert described.json()["setup"] is not None
