"""BearerTransport without HTTP: construction, clamping, issuance, authenticate, refresh."""

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from clock_support import START, FrozenClock
from crudauth.core import AuthContext, AuthRuntime, CookieConfig
from crudauth.exceptions import UnauthorizedException
from crudauth.hooks import AuthHooks
from crudauth.transports.bearer import BearerTransport
from crudauth.transports.bearer.tokens import (
    TokenType,
    create_access_token,
    create_refresh_token,
    verify_token,
)

SECRET = "current-signing-key-with-64-characters-0123456789abcdef0123456789"
OLD_SECRET = "earlier-signing-key-with-64-characters-0123456789abcdef0123456789"


@dataclass
class FakeUser:
    id: int
    is_active: bool = True
    token_version: int = 0
    is_superuser: bool = False


class FakeRepo:
    """The repository methods the bearer transport calls, backed by a dict of users."""

    def __init__(self, *users: FakeUser) -> None:
        self.users = {user.id: user for user in users}
        self.loads = 0
        # No user-row cache: every authentication loads the row.
        self.row_cache = None

    async def get_by_id(self, db: Any, user_id: Any) -> FakeUser | None:
        self.loads += 1
        try:
            return self.users.get(int(user_id))
        except ValueError:
            return None

    def user_id(self, user: FakeUser) -> int:
        return user.id

    def is_active(self, user: FakeUser) -> bool:
        return user.is_active

    def token_version(self, user: FakeUser) -> int:
        return user.token_version

    def is_superuser(self, user: FakeUser) -> bool:
        return user.is_superuser

    def email_verified(self, user: FakeUser) -> bool:
        return False

    def recovery_verified(self, user: FakeUser) -> bool:
        return False

    def to_dict(self, user: FakeUser) -> dict[str, Any]:
        return {"id": user.id, "token_version": user.token_version}


@pytest.fixture
def alice() -> FakeUser:
    return FakeUser(id=42)


@pytest.fixture
def repo(alice: FakeUser) -> FakeRepo:
    return FakeRepo(alice)


def bind(transport: BearerTransport, repo: FakeRepo, **runtime: Any) -> BearerTransport:
    runtime.setdefault("secret_key", SECRET)
    transport.bind(AuthRuntime(repo=repo, **runtime))  # type: ignore[arg-type]
    return transport


def make_request(
    headers: dict[str, str] | None = None, body: bytes = b"", path: str = "/protected"
) -> Request:
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": raw_headers,
        "query_string": b"",
        "client": ("203.0.113.7", 50000),
        "server": ("testserver", 443),
        "scheme": "https",
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


def context(transport: BearerTransport, request: Request) -> AuthContext:
    return AuthContext(request=request, db=None, runtime=transport.runtime)  # type: ignore[arg-type]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def authenticate(transport: BearerTransport, headers: dict[str, str]) -> Any:
    request = make_request(headers)
    return await transport.authenticate(request, context(transport, request))


# -- construction ---------------------------------------------------------------------


def test_constructor_defaults() -> None:
    transport = BearerTransport()

    assert transport.name == "bearer"
    assert transport.access_ttl == 900
    assert transport.refresh_ttl_days == 30
    assert transport.refresh == "cookie"
    assert transport.default_scopes == ()
    assert transport.grantable_scopes == frozenset()
    assert transport.refresh_cookie_name == "refresh_token"
    assert transport.refresh_cookie_path is None
    assert transport.sets_cookies is True


def test_constructor_stores_scope_types() -> None:
    transport = BearerTransport(default_scopes=["read"], grantable_scopes=["read", "write"])

    assert transport.default_scopes == ("read",)
    assert transport.grantable_scopes == frozenset({"read", "write"})


def test_grantable_defaults_to_default_scopes() -> None:
    transport = BearerTransport(default_scopes=["read", "write"])

    assert transport.grantable_scopes == frozenset({"read", "write"})


def test_body_delivery_sets_no_cookies() -> None:
    assert BearerTransport(refresh="body").sets_cookies is False


def test_unknown_refresh_mode_raises() -> None:
    with pytest.raises(ValueError, match="refresh must be 'cookie' or 'body'"):
        BearerTransport(refresh="header")


def test_default_scopes_outside_ceiling_raise() -> None:
    with pytest.raises(ValueError, match="subset"):
        BearerTransport(default_scopes=["read", "admin"], grantable_scopes=["read"])


@pytest.mark.parametrize("value", [0, -1, True, 1.5])
def test_non_positive_access_ttl_raises(value: Any) -> None:
    with pytest.raises(ValueError, match="access_ttl"):
        BearerTransport(access_ttl=value)


@pytest.mark.parametrize("value", [0, -30])
def test_non_positive_refresh_ttl_raises(value: int) -> None:
    with pytest.raises(ValueError, match="refresh_ttl_days"):
        BearerTransport(refresh_ttl_days=value)


def test_relative_refresh_cookie_path_raises() -> None:
    with pytest.raises(ValueError, match="refresh_cookie_path"):
        BearerTransport(refresh_cookie_path="auth/refresh")


def test_empty_refresh_cookie_name_raises() -> None:
    with pytest.raises(ValueError, match="refresh_cookie_name"):
        BearerTransport(refresh_cookie_name="")


def test_scopes_as_string_raise() -> None:
    with pytest.raises(ValueError, match="default_scopes"):
        BearerTransport(default_scopes="read")
    with pytest.raises(ValueError, match="grantable_scopes"):
        BearerTransport(grantable_scopes="read write")


@pytest.mark.parametrize("scope", ["", "two words", " read", 7])
def test_malformed_scope_name_raises(scope: Any) -> None:
    with pytest.raises(ValueError, match="grantable_scopes"):
        BearerTransport(grantable_scopes=["read", scope])


# -- clamping and issuance ------------------------------------------------------------


def test_clamp_keeps_order_and_drops_rest() -> None:
    transport = BearerTransport(grantable_scopes=["a", "b", "c"])

    assert transport.clamp_scopes(["c", "x", "a", "c"]) == ("c", "a")
    assert transport.clamp_scopes([]) == ()


def test_clamp_follows_runtime_ceiling() -> None:
    transport = BearerTransport(grantable_scopes=["a", "b"])
    transport.grantable_scopes = frozenset({"a"})

    assert transport.clamp_scopes(["a", "b"]) == ("a",)


async def test_issue_tokens_clamps_requested(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(grantable_scopes=["read"], refresh="body"), repo)

    body = await transport.issue_tokens(alice, scopes=["read", "admin"])

    access = verify_token(body["access_token"], SECRET, TokenType.ACCESS)
    refresh = verify_token(body["refresh_token"], SECRET, TokenType.REFRESH)
    assert access is not None
    assert refresh is not None
    assert access["scopes"] == ["read"]
    assert refresh["scopes"] == ["read"]
    assert body["token_type"] == "bearer"


async def test_issue_tokens_uses_default_scopes(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(
        BearerTransport(default_scopes=["read"], grantable_scopes=["read", "write"]), repo
    )

    body = await transport.issue_tokens(alice)

    claims = verify_token(body["access_token"], SECRET, TokenType.ACCESS)
    assert claims is not None
    assert claims["scopes"] == ["read"]


async def test_issue_tokens_default_grants_nothing(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(), repo)

    body = await transport.issue_tokens(alice, scopes=["admin"])

    claims = verify_token(body["access_token"], SECRET, TokenType.ACCESS)
    assert claims is not None
    assert claims["scopes"] == []


async def test_issue_tokens_claims(repo: FakeRepo, alice: FakeUser, clock: FrozenClock) -> None:
    alice.token_version = 3
    transport = bind(BearerTransport(access_ttl=60, refresh_ttl_days=2), repo)

    body = await transport.issue_tokens(alice)

    access = verify_token(body["access_token"], SECRET, TokenType.ACCESS)
    refresh = verify_token(body["refresh_token"], SECRET, TokenType.REFRESH)
    assert access is not None
    assert refresh is not None
    assert access["sub"] == "42"
    assert access["ver"] == 3
    assert access["exp"] == int(START) + 60
    assert refresh["sub"] == "42"
    assert refresh["ver"] == 3
    assert refresh["exp"] == int(START) + 2 * 86400
    assert set(access) == {"sub", "ver", "scopes", "token_type", "exp"}
    assert set(refresh) == {"sub", "ver", "scopes", "token_type", "exp"}


async def test_issue_tokens_rejects_scope_string(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(), repo)

    with pytest.raises(TypeError):
        await transport.issue_tokens(alice, scopes="read")


async def test_issue_tokens_cookie_with_response(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(refresh_cookie_path="/auth/refresh"), repo)
    response = Response()

    body = await transport.issue_tokens(alice, response=response)

    assert set(body) == {"access_token", "token_type"}
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("refresh_token=")
    assert "HttpOnly" in cookie
    assert "Path=/auth/refresh" in cookie
    assert "Max-Age=2592000" in cookie
    assert "Secure" in cookie
    assert "SameSite=lax" in cookie


async def test_issue_tokens_cookie_without_response(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(), repo)

    body = await transport.issue_tokens(alice)

    assert set(body) == {"access_token", "token_type", "refresh_token"}


async def test_issue_tokens_body_with_response(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(refresh="body"), repo)
    response = Response()

    body = await transport.issue_tokens(alice, response=response)

    assert "refresh_token" in body
    assert "set-cookie" not in response.headers


async def test_refresh_cookie_uses_override_policy(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(
        BearerTransport(cookies=CookieConfig(secure=True, samesite="none", path="/api")),
        repo,
        cookie_config=CookieConfig(secure=False, samesite="strict"),
    )
    response = Response()

    await transport.issue_tokens(alice, response=response)

    cookie = response.headers["set-cookie"]
    assert "SameSite=none" in cookie
    assert "Secure" in cookie
    assert "Path=/api" in cookie


def test_clear_cookies_matches_attributes(repo: FakeRepo) -> None:
    transport = bind(BearerTransport(refresh_cookie_path="/auth/refresh"), repo)
    response = Response()

    transport.clear_cookies(response)

    cookie = response.headers["set-cookie"]
    assert cookie.startswith("refresh_token=")
    assert "Max-Age=0" in cookie
    assert "Path=/auth/refresh" in cookie
    assert "HttpOnly" in cookie
    assert "Secure" in cookie


def test_clear_cookies_body_mode_noop(repo: FakeRepo) -> None:
    transport = bind(BearerTransport(refresh="body"), repo)
    response = Response()

    transport.clear_cookies(response)

    assert "set-cookie" not in response.headers


def test_unauthorized_error_carries_challenge() -> None:
    error = BearerTransport().make_unauthorized_error("Invalid token")

    assert error.status_code == 401
    assert error.detail == "Invalid token"
    assert error.headers == {"WWW-Authenticate": "Bearer"}


# -- authenticate ---------------------------------------------------------------------


async def test_authenticate_without_header(repo: FakeRepo) -> None:
    transport = bind(BearerTransport(), repo)

    assert await authenticate(transport, {}) is None


@pytest.mark.parametrize(
    "header", ["Basic YWxpY2U6cHc=", "Bearer", "Bearer ", "Token abc", "bearer"]
)
async def test_authenticate_other_scheme_absent(repo: FakeRepo, header: str) -> None:
    transport = bind(BearerTransport(), repo)

    assert await authenticate(transport, {"Authorization": header}) is None


async def test_authenticate_valid_token(repo: FakeRepo, alice: FakeUser) -> None:
    alice.is_superuser = True
    transport = bind(BearerTransport(grantable_scopes=["read"]), repo)
    token = transport.access_token(alice, ["read"])

    principal = await authenticate(transport, bearer(token))

    assert principal is not None
    assert principal.user_id == 42
    assert principal.transport == "bearer"
    assert principal.scopes == ("read",)
    assert principal.user is alice
    assert principal.is_superuser is True
    assert set(principal.metadata) == {"expires_at"}


async def test_authenticate_scheme_case_insensitive(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(), repo)
    token = transport.access_token(alice)

    principal = await authenticate(transport, {"Authorization": f"bEaReR {token}"})

    assert principal is not None


async def test_authenticate_does_not_reclamp(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(grantable_scopes=["a", "b"]), repo)
    token = transport.access_token(alice, ["a", "b"])
    transport.grantable_scopes = frozenset({"a"})

    principal = await authenticate(transport, bearer(token))

    assert principal is not None
    assert principal.scopes == ("a", "b")


async def test_authenticate_garbage_raises(repo: FakeRepo) -> None:
    transport = bind(BearerTransport(), repo)

    with pytest.raises(UnauthorizedException) as raised:
        await authenticate(transport, bearer("not-a-jwt"))

    assert raised.value.detail == "Invalid token"
    assert raised.value.headers == {"WWW-Authenticate": "Bearer"}


async def test_authenticate_wrong_secret_raises(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(), repo)
    token = create_access_token({"sub": "42", "ver": 0}, OLD_SECRET)

    with pytest.raises(UnauthorizedException):
        await authenticate(transport, bearer(token))


async def test_authenticate_previous_key_accepted(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(), repo, previous_secret_keys=(OLD_SECRET,))
    token = create_access_token({"sub": "42", "ver": 0}, OLD_SECRET, scopes=[])

    principal = await authenticate(transport, bearer(token))

    assert principal is not None
    assert principal.user_id == 42


async def test_authenticate_refresh_token_raises(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(), repo)
    refresh = (await transport.issue_tokens(alice))["refresh_token"]

    with pytest.raises(UnauthorizedException):
        await authenticate(transport, bearer(refresh))


async def test_authenticate_expired_is_absent(
    repo: FakeRepo, alice: FakeUser, clock: FrozenClock
) -> None:
    transport = bind(BearerTransport(access_ttl=900), repo)
    token = transport.access_token(alice)
    clock.now = START + 900

    assert await authenticate(transport, bearer(token)) is None


async def test_authenticate_expired_refresh_absent(
    repo: FakeRepo, alice: FakeUser, clock: FrozenClock
) -> None:
    transport = bind(BearerTransport(refresh_ttl_days=1), repo)
    refresh = (await transport.issue_tokens(alice))["refresh_token"]
    clock.now = START + 86400

    assert await authenticate(transport, bearer(refresh)) is None


async def test_authenticate_alg_none_raises(repo: FakeRepo) -> None:
    transport = bind(BearerTransport(), repo)
    token = jwt.encode(
        {"sub": "42", "ver": 0, "token_type": "access", "exp": 4_000_000_000},
        key="",
        algorithm="none",
    )

    with pytest.raises(UnauthorizedException):
        await authenticate(transport, bearer(token))


async def test_authenticate_other_algorithm_raises(repo: FakeRepo) -> None:
    transport = bind(BearerTransport(), repo)
    claims = {"sub": "42", "ver": 0, "token_type": "access", "exp": 4_000_000_000}
    token = jwt.encode(claims, SECRET, algorithm="HS512")

    with pytest.raises(UnauthorizedException):
        await authenticate(transport, bearer(token))


async def test_authenticate_missing_sub_raises(repo: FakeRepo) -> None:
    transport = bind(BearerTransport(), repo)
    token = create_access_token({"ver": 0}, SECRET, scopes=[])

    with pytest.raises(UnauthorizedException):
        await authenticate(transport, bearer(token))


async def test_authenticate_malformed_scopes_raises(repo: FakeRepo) -> None:
    transport = bind(BearerTransport(), repo)
    token = create_access_token({"sub": "42", "ver": 0, "scopes": "admin"}, SECRET)

    with pytest.raises(UnauthorizedException):
        await authenticate(transport, bearer(token))


async def test_authenticate_stale_version_absent(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(), repo)
    token = transport.access_token(alice)
    alice.token_version = 1

    assert await authenticate(transport, bearer(token)) is None


async def test_authenticate_newer_version_absent(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(), repo)
    token = create_access_token({"sub": "42", "ver": 5}, SECRET, scopes=[])

    assert await authenticate(transport, bearer(token)) is None


async def test_authenticate_missing_ver_means_zero(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(), repo)
    token = create_access_token({"sub": "42"}, SECRET)

    assert await authenticate(transport, bearer(token)) is not None

    alice.token_version = 1
    assert await authenticate(transport, bearer(token)) is None


async def test_authenticate_inactive_user_absent(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(), repo)
    token = transport.access_token(alice)
    alice.is_active = False

    assert await authenticate(transport, bearer(token)) is None


async def test_authenticate_deleted_user_absent(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(), repo)
    token = transport.access_token(alice)
    repo.users.clear()

    assert await authenticate(transport, bearer(token)) is None


async def test_authenticate_loads_user_once(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(), repo)
    request = make_request(bearer(transport.access_token(alice)))
    ctx = context(transport, request)

    await transport.authenticate(request, ctx)
    await transport.authenticate(request, ctx)

    assert repo.loads == 1


# -- refresh --------------------------------------------------------------------------


async def test_read_refresh_cookie_mode_ignores_body(repo: FakeRepo) -> None:
    transport = bind(BearerTransport(), repo)
    request = make_request(body=json.dumps({"refresh_token": "abc"}).encode())

    assert await transport.read_refresh(request) is None


async def test_read_refresh_cookie_first(repo: FakeRepo) -> None:
    for mode in ["cookie", "body"]:
        transport = bind(BearerTransport(refresh=mode), repo)
        request = make_request(
            {"Cookie": "refresh_token=from-cookie"},
            body=json.dumps({"refresh_token": "from-body"}).encode(),
        )

        assert await transport.read_refresh(request) == "from-cookie", mode


async def test_read_refresh_body_mode(repo: FakeRepo) -> None:
    transport = bind(BearerTransport(refresh="body"), repo)
    request = make_request(body=json.dumps({"refresh_token": "abc"}).encode())

    assert await transport.read_refresh(request) == "abc"


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1, 2]", b'"text"', b'{"refresh_token": 5}', b"{}", b"\xff\xfe"],
)
async def test_read_refresh_bad_body_missing(repo: FakeRepo, body: bytes) -> None:
    transport = bind(BearerTransport(refresh="body"), repo)

    assert await transport.read_refresh(make_request(body=body)) is None


async def refresh_with_body(transport: BearerTransport, token: str) -> dict[str, str]:
    request = make_request(body=json.dumps({"refresh_token": token}).encode())
    return await transport.refresh_access_token(request, context(transport, request))


async def test_refresh_reclamps_scopes(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(grantable_scopes=["a", "b"], refresh="body"), repo)
    refresh = (await transport.issue_tokens(alice, scopes=["a", "b"]))["refresh_token"]
    transport.grantable_scopes = frozenset({"a"})

    body = await refresh_with_body(transport, refresh)

    claims = verify_token(body["access_token"], SECRET, TokenType.ACCESS)
    assert claims is not None
    assert claims["scopes"] == ["a"]
    assert set(body) == {"access_token", "token_type"}


async def test_refresh_carries_current_version(repo: FakeRepo, alice: FakeUser) -> None:
    alice.token_version = 2
    transport = bind(BearerTransport(refresh="body"), repo)
    refresh = (await transport.issue_tokens(alice))["refresh_token"]

    body = await refresh_with_body(transport, refresh)

    claims = verify_token(body["access_token"], SECRET, TokenType.ACCESS)
    assert claims is not None
    assert claims["ver"] == 2


async def test_refresh_missing_token_raises(repo: FakeRepo) -> None:
    transport = bind(BearerTransport(refresh="body"), repo)
    request = make_request()

    with pytest.raises(UnauthorizedException) as raised:
        await transport.refresh_access_token(request, context(transport, request))

    assert raised.value.detail == "Refresh token missing"
    assert raised.value.headers == {"WWW-Authenticate": "Bearer"}


async def expect_invalid_refresh(transport: BearerTransport, token: str) -> None:
    with pytest.raises(UnauthorizedException) as raised:
        await refresh_with_body(transport, token)

    assert raised.value.detail == "Invalid or expired refresh token"
    assert raised.value.headers == {"WWW-Authenticate": "Bearer"}


async def test_refresh_rejects_access_token(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(refresh="body"), repo)

    await expect_invalid_refresh(transport, transport.access_token(alice))


async def test_refresh_rejects_garbage(repo: FakeRepo) -> None:
    transport = bind(BearerTransport(refresh="body"), repo)

    await expect_invalid_refresh(transport, "garbage")


async def test_refresh_rejects_expired(repo: FakeRepo, alice: FakeUser, clock: FrozenClock) -> None:
    transport = bind(BearerTransport(refresh="body", refresh_ttl_days=1), repo)
    refresh = (await transport.issue_tokens(alice))["refresh_token"]
    clock.now = START + 86400

    await expect_invalid_refresh(transport, refresh)


async def test_refresh_rejects_stale_version(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(refresh="body"), repo)
    refresh = (await transport.issue_tokens(alice))["refresh_token"]
    alice.token_version = 1

    await expect_invalid_refresh(transport, refresh)


async def test_refresh_rejects_inactive_user(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(refresh="body"), repo)
    refresh = (await transport.issue_tokens(alice))["refresh_token"]
    alice.is_active = False

    await expect_invalid_refresh(transport, refresh)


async def test_refresh_rejects_deleted_user(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(refresh="body"), repo)
    refresh = (await transport.issue_tokens(alice))["refresh_token"]
    repo.users.clear()

    await expect_invalid_refresh(transport, refresh)


async def test_refresh_accepts_previous_key(repo: FakeRepo, alice: FakeUser) -> None:
    transport = bind(BearerTransport(refresh="body"), repo, previous_secret_keys=[OLD_SECRET])
    refresh = create_refresh_token(
        {"sub": "42", "ver": 0, "scopes": []}, OLD_SECRET, expires_delta=timedelta(days=1)
    )

    body = await refresh_with_body(transport, refresh)

    assert verify_token(body["access_token"], SECRET, TokenType.ACCESS) is not None


# -- login completion -----------------------------------------------------------------


async def test_complete_login_fires_hook(repo: FakeRepo, alice: FakeUser) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []

    def on_after_login(user: Any, **kwargs: Any) -> None:
        calls.append((user, kwargs))

    transport = bind(
        BearerTransport(grantable_scopes=["read"], refresh="body"),
        repo,
        hooks=AuthHooks(on_after_login=on_after_login),
    )
    request = make_request({"User-Agent": "tests/1.0"}, path="/token")

    body = await transport.complete_login(request, Response(), alice, {"scopes": ["read", "x"]})

    claims = verify_token(body["access_token"], SECRET, TokenType.ACCESS)
    assert claims is not None
    assert claims["scopes"] == ["read"]
    assert "refresh_token" in body
    assert len(calls) == 1
    user, kwargs = calls[0]
    assert user == {"id": 42, "token_version": 0}
    assert kwargs["request"] is request
    assert kwargs["context"].transport == "bearer"
    assert kwargs["context"].ip_address == "203.0.113.7"
    assert kwargs["context"].user_agent == "tests/1.0"
    assert kwargs["context"].session_handle is None


async def test_rejection_log_omits_token(repo: FakeRepo, caplog: pytest.LogCaptureFixture) -> None:
    transport = bind(BearerTransport(), repo)
    token = create_access_token({"sub": "42", "ver": 0}, OLD_SECRET, scopes=[])
    caplog.set_level("WARNING", logger="crudauth.security")

    with pytest.raises(UnauthorizedException):
        await authenticate(transport, bearer(token))

    assert len(caplog.records) == 1
    assert "reason=invalid" in caplog.text
    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text


def test_routes_build_openapi(repo: FakeRepo) -> None:
    async def get_db() -> None:
        return None

    transport = bind(BearerTransport(), repo, db_dependency=get_db, transports=())
    app = FastAPI()
    app.include_router(transport.contributes_routes())

    paths = app.openapi()["paths"]

    assert set(paths) == {"/token", "/refresh", "/logout"}
    assert "application/x-www-form-urlencoded" in paths["/token"]["post"]["requestBody"]["content"]


def test_routes_need_db_dependency(repo: FakeRepo) -> None:
    transport = bind(BearerTransport(), repo)

    with pytest.raises(RuntimeError, match="session="):
        transport.contributes_routes()
