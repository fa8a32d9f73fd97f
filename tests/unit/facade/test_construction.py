"""``CRUDAuth`` construction: fail-closed validation, warnings and properties."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from importlib.metadata import version
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import crudauth
from crudauth import (
    AuthUserMixin,
    BearerTransport,
    CRUDAuth,
    IdentityConfig,
    SessionTransport,
    make_auth_identity,
)
from crudauth.ratelimit import LockoutConfig, RateLimit


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):
    __tablename__ = "users"


UsernameOnly = make_auth_identity(identifiers=["username"], recovery=None, oauth=False)


class Member(Base, UsernameOnly):
    __tablename__ = "members"
    nickname: Mapped[str | None] = mapped_column(String(30), default=None)


async def get_db() -> AsyncIterator[Any]:
    yield None


def build(**kwargs: Any) -> CRUDAuth:
    kwargs.setdefault("session", get_db)
    kwargs.setdefault("user_model", User)
    kwargs.setdefault("SECRET_KEY", "k" * 40)
    kwargs.setdefault("warn_on_memory_backend", False)
    return CRUDAuth(**kwargs)


def test_empty_secret_key_raises() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY is required"):
        build(SECRET_KEY="")


def test_redis_url_and_client_raise() -> None:
    with pytest.raises(ValueError, match="redis_url"):
        build(redis_url="redis://127.0.0.1:1/0", redis_client=object())


def test_unknown_rate_limit_action_raises() -> None:
    with pytest.raises(ValueError, match="'nope'"):
        build(rate_limits={"nope": RateLimit(1, 1)})


def test_known_rate_limit_override_applies() -> None:
    auth = build(rate_limits={"register": RateLimit(1, 60)})
    assert auth.rate_limits["register"] == RateLimit(1, 60)
    assert auth.rate_limits["logout_all"] == RateLimit(10, 3600)


def test_non_unique_login_field_raises() -> None:
    with pytest.raises(ValueError, match="'nickname'"):
        build(user_model=Member, identity=IdentityConfig(login=["nickname"], recovery=None))


def test_missing_recovery_column_raises() -> None:
    with pytest.raises(ValueError, match=r"identity\.recovery field 'phone'"):
        build(user_model=Member, identity=IdentityConfig(login=["username"], recovery="phone"))


def test_lockout_twice_raises() -> None:
    with pytest.raises(ValueError, match="lockout"):
        build(
            lockout=LockoutConfig(max_attempts=3),
            transports=[SessionTransport(login_max_attempts=2)],
        )


def test_lockout_from_session_transport_applies() -> None:
    auth = build(transports=[SessionTransport(login_max_attempts=2)])
    assert auth.lockout.max_attempts == 2


def test_negative_fresh_sign_in_raises() -> None:
    with pytest.raises(ValueError, match="fresh_sign_in_seconds"):
        build(fresh_sign_in_seconds=-1)


def test_memory_warning_lists_parts(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="crudauth"):
        build(warn_on_memory_backend=True)
    messages = [r.getMessage() for r in caplog.records if r.name == "crudauth"]
    assert any("in-memory backend" in m for m in messages)
    assert any("sessions/CSRF" in m for m in messages)


def test_memory_warning_can_be_silenced(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="crudauth"):
        build(warn_on_memory_backend=False)
    assert not [r for r in caplog.records if "in-memory backend" in r.getMessage()]


async def test_routers_without_transports_raise() -> None:
    bearer_only = build(transports=[BearerTransport(refresh="body")])
    with pytest.raises(RuntimeError, match="No SessionTransport configured"):
        _ = bearer_only.session_router
    with pytest.raises(RuntimeError, match="No SessionTransport configured"):
        _ = bearer_only.sessions
    session_only = build()
    with pytest.raises(RuntimeError, match="No BearerTransport configured"):
        _ = session_only.bearer_router
    with pytest.raises(RuntimeError, match="No BearerTransport configured"):
        await session_only.issue_tokens(object())


def test_default_transport_is_session() -> None:
    auth = build()
    assert [t.name for t in auth.transports] == ["session"]
    assert auth._session_transport is auth.transports[0]
    assert auth._bearer_transport is None


def route_paths(auth: CRUDAuth) -> set[str]:
    app = FastAPI()
    app.include_router(auth.router)
    return set(app.openapi()["paths"])


def test_router_paths_follow_configuration() -> None:
    plain = route_paths(build())
    assert {"/register", "/me", "/set-password", "/change-password", "/login", "/logout"} <= plain
    assert "/sessions" not in plain
    managed = route_paths(build(transports=[SessionTransport(management_routes=True)]))
    assert {"/sessions", "/sessions/{session_handle}", "/logout-all", "/csrf/refresh"} <= managed


def test_new_user_defaults_drop_contract_fields(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="crudauth"):
        auth = build(new_user_defaults={"is_superuser": True, "plan": "free"})
    assert auth.new_user_defaults == {"plan": "free"}
    assert any("is_superuser" in r.getMessage() for r in caplog.records)


def test_version_comes_from_metadata() -> None:
    assert crudauth.__version__ == version("crudauth")
