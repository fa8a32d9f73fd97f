"""Columns emitted by the user-model mixin factory."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import crudauth.models as models
from crudauth.models.mixin import AuthUserMixin, make_auth_identity


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):
    __tablename__ = "users"


class Other(Base, AuthUserMixin):
    __tablename__ = "others"


def columns(model: Any) -> dict[str, Any]:
    return {column.name: column for column in model.__table__.columns}


DEFAULT_SHAPE = {
    "id": (Integer, None, False, False),
    "email": (String, 320, False, True),
    "username": (String, 64, False, True),
    "hashed_password": (String, 255, False, False),
    "is_active": (Boolean, None, False, False),
    "is_superuser": (Boolean, None, False, False),
    "email_verified": (Boolean, None, False, False),
    "token_version": (Integer, None, False, False),
    "oauth_provider": (String, 32, True, False),
    "google_id": (String, 64, True, True),
    "github_id": (String, 64, True, True),
    "oauth_created_at": (DateTime, None, True, False),
    "oauth_updated_at": (DateTime, None, True, False),
    "created_at": (DateTime, None, False, False),
    "updated_at": (DateTime, None, True, False),
}


def test_default_shape_is_exact() -> None:
    table = columns(User)
    assert list(table) == list(DEFAULT_SHAPE)
    for name, (sql_type, length, nullable, unique) in DEFAULT_SHAPE.items():
        column = table[name]
        assert isinstance(column.type, sql_type), name
        if length is not None:
            assert column.type.length == length, name
        assert column.nullable is nullable, name
        assert bool(column.unique) is unique, name
    assert table["id"].primary_key is True
    assert table["created_at"].type.timezone is True


def test_defaults_are_python_side() -> None:
    table = columns(User)
    assert table["is_active"].default.arg is True
    assert table["is_superuser"].default.arg is False
    assert table["email_verified"].default.arg is False
    assert table["token_version"].default.arg == 0
    assert table["created_at"].default.is_callable
    assert table["updated_at"].onupdate is not None
    assert all(column.server_default is None for column in table.values())


def test_models_get_independent_columns() -> None:
    assert User.__table__.c.email is not Other.__table__.c.email


def test_factory_returns_new_classes() -> None:
    first, second = make_auth_identity(), make_auth_identity()
    assert first is not second
    assert first.__name__ == "AuthUserMixin"


def test_models_package_exports_only_mixin() -> None:
    assert models.__all__ == ["AuthUserMixin"]
    assert models.AuthUserMixin is AuthUserMixin
    assert not hasattr(models, "make_auth_identity")


def test_username_only_without_recovery() -> None:
    shape = make_auth_identity(identifiers=["username"], recovery=None, oauth=False)

    class Anonymous(Base, shape):
        __tablename__ = "anonymous"

    table = columns(Anonymous)
    assert "email" not in table
    assert {"id", "username", "hashed_password"} <= set(table)
    assert not [name for name in table if name.endswith("_verified") and name != "email_verified"]


def test_email_recovery_makes_nullable_email() -> None:
    shape = make_auth_identity(identifiers=["username"], recovery="email")

    class Handle(Base, shape):
        __tablename__ = "handles"

    email = columns(Handle)["email"]
    assert email.nullable is True
    assert email.unique is True


def test_phone_recovery_adds_flag_only() -> None:
    shape = make_auth_identity(identifiers=["username"], recovery="phone", oauth=False)

    class Member(Base, shape):
        __tablename__ = "members"
        phone: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)

    names = [column.name for column in Member.__table__.columns]
    assert "phone_verified" in names
    assert names.count("email_verified") == 1
    assert "email" not in names
    assert "google_id" not in names
    assert shape.__dict__.get("phone") is None


def test_mfa_columns() -> None:
    shape = make_auth_identity(mfa=True)

    class Secure(Base, shape):
        __tablename__ = "secure"

    table = columns(Secure)
    assert isinstance(table["mfa_recovery_codes"].type, Text)
    assert table["totp_secret_encrypted"].type.length == 255
    assert isinstance(table["totp_last_step"].type, Integer)
    assert table["totp_confirmed_at"].nullable is True


def test_rejects_bad_parameters() -> None:
    with pytest.raises(TypeError, match="identifiers"):
        make_auth_identity(identifiers="email")
    with pytest.raises(ValueError, match="recovery"):
        make_auth_identity(recovery="not a name")
