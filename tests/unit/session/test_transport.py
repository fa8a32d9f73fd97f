"""SessionTransport: construction checks, binding, authentication and CSRF enforcement."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest

from crudauth.core import AuthContext, AuthRuntime, CookieConfig
from crudauth.exceptions import CSRFException, StoreUnavailableError
from crudauth.ratelimit import LockoutConfig
from crudauth.transports.session.transport import SessionTransport


@dataclass
class User:
    id: int
    username: str = "alice"
    is_active: bool = True
    token_version: int = 0


class FakeRepo:
    """The repository calls the transport makes, over an in-memory user table."""

    def __init__(self, *users: User) -> None:
        self.users = {user.id: user for user in users}
        self.loads = 0
        # No user-row cache: every authentication loads the row.
        self.row_cache = None

    async def get_by_id(self, db: Any, user_id: Any) -> User | None:
        self.loads += 1
        return self.users.get(int(user_id))

    def user_id(self, user: User) -> int:
        return user.id

    def is_active(self, user: User) -> bool:
        return user.is_active

    def token_version(self, user: User) -> int:
        return user.token_version

    def is_superuser(self, user: User) -> bool:
        return False

    def email_verified(self, user: User) -> bool:
        return False

    def recovery_verified(self, user: User) -> bool:
        return False

    def to_dict(self, user: User) -> dict[str, Any]:
        return {"id": user.id, "username": user.username}

    def get(self, user: User, field: str, default: Any = None) -> Any:
        return getattr(user, field, default)


def bound(transport: SessionTransport, *users: User) -> tuple[SessionTransport, AuthRuntime]:
    runtime = AuthRuntime(secret_key="unit-secret", repo=FakeRepo(*users))  # type: ignore[arg-type]
    runtime.transports = [transport]
    transport.bind(runtime)
    return transport, runtime


def context(request: Any, runtime: AuthRuntime, **flags: bool) -> AuthContext:
    return AuthContext(request=request, db=None, runtime=runtime, **flags)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"redis_url": "redis://x", "redis_client": object()}, "not both"),
        ({"cookie_name": "same", "csrf_cookie_name": "same"}, "must differ"),
        ({"storage_prefix": "p:", "csrf_storage_prefix": "p:"}, "must differ"),
        ({"storage": object(), "csrf_storage": object(), "backend": "memory"}, "only one"),
        ({"storage": object(), "csrf_storage": object(), "redis_url": "r"}, "only one"),
        ({"storage": object(), "csrf_storage": object(), "storage_prefix": "x:"}, "prefix"),
        ({"storage": object()}, "csrf_storage"),
        ({"csrf_storage": object()}, "needs storage"),
        ({"backend": "memory", "redis_url": "redis://x"}, "cannot be combined"),
        ({"backend": "database", "redis_client": object()}, "cannot be combined"),
        ({"backend": "files"}, "Unknown session backend"),
        ({"activity_interval_seconds": -1}, "activity_interval_seconds"),
    ],
)
def test_constructor_rejects(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SessionTransport(**kwargs)


def test_constructor_defaults() -> None:
    transport = SessionTransport()
    assert transport.name == "session"
    assert transport.backend is None
    assert transport.csrf_enabled is True
    assert transport.lockout is None
    assert transport.manager is None
    assert transport.sets_cookies is True
    assert transport.management_routes is False


def test_login_arguments_build_lockout_config() -> None:
    transport = SessionTransport(login_max_attempts=2, on_login_success="clear_user_only")
    assert transport.lockout == LockoutConfig(max_attempts=2, on_login_success="clear_user_only")


def test_bind_rejects_samesite_none() -> None:
    transport = SessionTransport(cookies=CookieConfig(samesite="none"))
    with pytest.raises(ValueError, match="SameSite=None"):
        bound(transport)


def test_bind_builds_memory_stores() -> None:
    transport, _ = bound(SessionTransport(backend="MEMORY", activity_interval_seconds=5))
    assert transport.backend == "memory"
    assert transport.manager is not None
    assert transport.manager.csrf_storage is not None
    assert transport.manager.storage.prefix == "session:"
    assert transport.manager.csrf_storage.prefix == "csrf:"
    assert transport.manager.key_secret == "unit-secret"
    assert transport.manager.activity_interval.total_seconds() == 5


def test_bind_without_csrf_has_no_csrf_store() -> None:
    transport, _ = bound(SessionTransport(csrf=False))
    assert transport.manager is not None
    assert transport.manager.csrf_storage is None


def test_bind_database_without_store_raises() -> None:
    with pytest.raises(ValueError, match="database_store"):
        bound(SessionTransport(backend="database"))


def test_bind_custom_store(make_store: Any) -> None:
    sessions, csrf = make_store("s:"), make_store("c:")
    transport, _ = bound(SessionTransport(storage=sessions, csrf_storage=csrf))
    assert transport.backend == "custom"
    assert transport.manager is not None
    assert transport.manager.storage is sessions


async def login(transport: SessionTransport, make_request: Any) -> tuple[str, str]:
    assert transport.manager is not None
    return await transport.manager.create_session(make_request(), 1, token_version=0)


async def test_authenticate_without_cookie(make_request: Any) -> None:
    transport, runtime = bound(SessionTransport(), User(1))
    request = make_request()
    assert await transport.authenticate(request, context(request, runtime)) is None


async def test_authenticate_get_returns_principal(make_request: Any) -> None:
    transport, runtime = bound(SessionTransport(), User(1))
    session_id, _ = await login(transport, make_request)
    request = make_request(cookies={"session_id": session_id})
    principal = await transport.authenticate(request, context(request, runtime))
    assert principal is not None
    assert principal.user_id == 1
    assert principal.transport == "session"
    assert principal.scopes == ()
    assert principal.metadata["session_id"] == session_id
    assert set(principal.metadata) == {"session_id", "expires_at"}


@pytest.mark.parametrize(
    ("header", "detail"),
    [(None, "Missing CSRF token"), ("", "Missing CSRF token"), ("forged", "Invalid CSRF token")],
)
async def test_unsafe_method_needs_csrf_header(
    make_request: Any, header: str | None, detail: str
) -> None:
    transport, runtime = bound(SessionTransport(), User(1))
    session_id, _ = await login(transport, make_request)
    headers = {} if header is None else {"X-CSRF-Token": header}
    request = make_request(cookies={"session_id": session_id}, headers=headers, method="POST")
    with pytest.raises(CSRFException) as raised:
        await transport.authenticate(request, context(request, runtime))
    assert raised.value.status_code == 403
    assert raised.value.detail == detail
    assert raised.value.headers == {"X-CSRF-Error": "true"}


async def test_valid_csrf_header_passes(make_request: Any) -> None:
    transport, runtime = bound(SessionTransport(), User(1))
    session_id, token = await login(transport, make_request)
    request = make_request(
        cookies={"session_id": session_id}, headers={"X-CSRF-Token": token}, method="DELETE"
    )
    assert await transport.authenticate(request, context(request, runtime)) is not None


async def test_csrf_skipped_when_not_enforced(make_request: Any) -> None:
    transport, runtime = bound(SessionTransport(), User(1))
    session_id, _ = await login(transport, make_request)
    request = make_request(cookies={"session_id": session_id}, method="POST")
    ctx = context(request, runtime, enforce_csrf=False)
    assert await transport.authenticate(request, ctx) is not None


async def test_csrf_disabled_never_checks(make_request: Any) -> None:
    transport, runtime = bound(SessionTransport(csrf=False), User(1))
    session_id, token = await login(transport, make_request)
    assert token == ""
    request = make_request(cookies={"session_id": session_id}, method="POST")
    assert await transport.authenticate(request, context(request, runtime)) is not None


async def test_csrf_failure_logs_one_line(
    make_request: Any, caplog: pytest.LogCaptureFixture
) -> None:
    transport, runtime = bound(SessionTransport(), User(1))
    session_id, token = await login(transport, make_request)
    request = make_request(
        cookies={"session_id": session_id}, headers={"X-CSRF-Token": "forged"}, method="POST"
    )
    caplog.set_level(logging.DEBUG, logger="crudauth")
    with pytest.raises(CSRFException):
        await transport.authenticate(request, context(request, runtime))
    records = [r for r in caplog.records if r.name == "crudauth.security"]
    assert len(records) == 1
    message = records[0].getMessage()
    assert transport.manager is not None
    assert transport.manager.session_handle(session_id) in message
    assert "user_id=1" in message
    assert session_id not in caplog.text
    assert token not in caplog.text


async def test_inactive_user_is_absent(make_request: Any) -> None:
    transport, runtime = bound(SessionTransport(), User(1, is_active=False))
    session_id, _ = await login(transport, make_request)
    request = make_request(cookies={"session_id": session_id})
    assert await transport.authenticate(request, context(request, runtime)) is None


async def test_deleted_user_is_absent(make_request: Any) -> None:
    transport, runtime = bound(SessionTransport())
    session_id, _ = await login(transport, make_request)
    request = make_request(cookies={"session_id": session_id})
    assert await transport.authenticate(request, context(request, runtime)) is None


async def test_stale_token_version_is_absent(make_request: Any) -> None:
    transport, runtime = bound(SessionTransport(), User(1, token_version=1))
    session_id, _ = await login(transport, make_request)
    request = make_request(cookies={"session_id": session_id})
    assert await transport.authenticate(request, context(request, runtime)) is None


async def test_store_failure_is_not_anonymous(make_store: Any, make_request: Any) -> None:
    sessions, csrf = make_store("session:"), make_store("csrf:")
    transport, runtime = bound(SessionTransport(storage=sessions, csrf_storage=csrf), User(1))
    session_id, _ = await login(transport, make_request)
    sessions.fail_on.add("get")
    request = make_request(cookies={"session_id": session_id})
    with pytest.raises(StoreUnavailableError):
        await transport.authenticate(request, context(request, runtime))


async def test_revalidate_runs_skipped_csrf(make_request: Any) -> None:
    transport, runtime = bound(SessionTransport(), User(1))
    session_id, token = await login(transport, make_request)
    request = make_request(cookies={"session_id": session_id}, method="POST")
    principal = await transport.authenticate(request, context(request, runtime, enforce_csrf=False))
    assert principal is not None
    with pytest.raises(CSRFException):
        await transport.revalidate(request, principal, context(request, runtime))
    good = make_request(
        cookies={"session_id": session_id}, headers={"X-CSRF-Token": token}, method="POST"
    )
    assert await transport.revalidate(good, principal, context(good, runtime))
    assert transport.manager is not None
    await transport.manager.terminate_session(session_id)
    assert not await transport.revalidate(good, principal, context(good, runtime))


async def test_complete_login_sets_cookies_and_fires_hook(make_request: Any) -> None:
    from starlette.responses import Response

    transport, runtime = bound(SessionTransport(), User(1))
    calls: list[tuple[Any, Any]] = []
    runtime.hooks.on_after_login = lambda user, *, request, context: calls.append((user, context))
    response = Response()
    body = await transport.complete_login(make_request(), response, User(1), {"remember_me": True})
    assert body["id"] == 1
    assert body["username"] == "alice"
    assert len(body["csrf_token"]) == 64
    cookies = response.headers.getlist("set-cookie")
    assert any(c.startswith("session_id=") and "HttpOnly" in c for c in cookies)
    assert any(c.startswith("csrf_token=") and "HttpOnly" not in c for c in cookies)
    assert all("Max-Age=2592000" in c for c in cookies)
    assert len(calls) == 1
    user_dict, hook_context = calls[0]
    assert user_dict == {"id": 1, "username": "alice"}
    assert hook_context.transport == "session"
    assert hook_context.session_handle is not None
    assert hook_context.ip_address == "203.0.113.9"
