"""Declarative mixins that give an app's user model crudauth's columns."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

__all__ = ["AuthUserMixin", "make_auth_identity"]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _column(annotation: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    return annotation, mapped_column(*args, **kwargs)


def _oauth_columns() -> dict[str, tuple[Any, Any]]:
    return {
        "oauth_provider": _column(Mapped[str | None], String(32), nullable=True, default=None),
        "google_id": _column(
            Mapped[str | None], String(64), nullable=True, unique=True, index=True, default=None
        ),
        "github_id": _column(
            Mapped[str | None], String(64), nullable=True, unique=True, index=True, default=None
        ),
        "oauth_created_at": _column(
            Mapped[datetime | None], DateTime(timezone=True), nullable=True, default=None
        ),
        "oauth_updated_at": _column(
            Mapped[datetime | None], DateTime(timezone=True), nullable=True, default=None
        ),
    }


def _mfa_columns() -> dict[str, tuple[Any, Any]]:
    return {
        "totp_secret_encrypted": _column(
            Mapped[str | None], String(255), nullable=True, default=None
        ),
        "totp_confirmed_at": _column(
            Mapped[datetime | None], DateTime(timezone=True), nullable=True, default=None
        ),
        "totp_last_step": _column(Mapped[int | None], Integer, nullable=True, default=None),
        "mfa_recovery_codes": _column(Mapped[str | None], Text, nullable=True, default=None),
    }


def make_auth_identity(
    *,
    identifiers: Iterable[str] = ("email", "username"),
    recovery: str | None = "email",
    oauth: bool = True,
    mfa: bool = False,
) -> type[Any]:
    """Build a declarative mixin with the columns of one account shape.

    ``email`` is a required unique column when ``"email"`` is among ``identifiers``; it
    is still emitted, nullable, when only ``recovery`` is ``"email"``. ``username``,
    the password hash and the status columns are always emitted. Any other recovery
    factor (e.g. ``"phone"``) adds a ``{recovery}_verified`` flag while the app declares
    the factor column itself. Every call returns a new, independent class named
    ``AuthUserMixin``, with ``created_at`` and ``updated_at`` columns too.

    Args:
        identifiers: Login fields of the shape; only ``"email"`` changes the columns.
        recovery: The recovery factor's column name, or ``None``.
        oauth: Add the five OAuth columns (provider, Google and GitHub ids, times).
        mfa: Add the four MFA columns.

    Returns:
        The mixin class, to inherit next to the app's declarative base.

    Raises:
        TypeError: ``identifiers`` is a string instead of a sequence.
        ValueError: ``recovery`` is neither a valid column name nor ``None``.

    Example:
        ```python
        class User(Base, make_auth_identity(identifiers=["username"], recovery=None)):
            __tablename__ = "users"
        ```
    """
    if isinstance(identifiers, str):
        raise TypeError(
            f"make_auth_identity identifiers must be a sequence of names, not {identifiers!r}"
        )
    identifier_set = set(identifiers)
    if recovery is not None and (not isinstance(recovery, str) or not recovery.isidentifier()):
        raise ValueError(
            f"make_auth_identity recovery must be a column name or None, not {recovery!r}"
        )

    columns: dict[str, tuple[Any, Any]] = {
        "id": _column(Mapped[int], Integer, primary_key=True, autoincrement=True),
    }
    if "email" in identifier_set:
        columns["email"] = _column(
            Mapped[str], String(320), nullable=False, unique=True, index=True
        )
    elif recovery == "email":
        columns["email"] = _column(
            Mapped[str | None], String(320), nullable=True, unique=True, index=True, default=None
        )
    columns.update(
        {
            "username": _column(Mapped[str], String(64), nullable=False, unique=True, index=True),
            "hashed_password": _column(Mapped[str], String(255), nullable=False),
            "is_active": _column(Mapped[bool], Boolean, nullable=False, default=True),
            "is_superuser": _column(Mapped[bool], Boolean, nullable=False, default=False),
            "email_verified": _column(Mapped[bool], Boolean, nullable=False, default=False),
            "token_version": _column(Mapped[int], Integer, nullable=False, default=0),
        }
    )
    if recovery is not None and recovery != "email":
        columns[f"{recovery}_verified"] = _column(
            Mapped[bool], Boolean, nullable=False, default=False
        )
    if oauth:
        columns.update(_oauth_columns())
    if mfa:
        columns.update(_mfa_columns())
    columns["created_at"] = _column(
        Mapped[datetime], DateTime(timezone=True), nullable=False, default=_utcnow
    )
    columns["updated_at"] = _column(
        Mapped[datetime | None],
        DateTime(timezone=True),
        nullable=True,
        default=None,
        onupdate=_utcnow,
    )

    namespace: dict[str, Any] = {name: column for name, (_, column) in columns.items()}
    namespace["__annotations__"] = {name: annotation for name, (annotation, _) in columns.items()}
    namespace["__module__"] = __name__
    namespace["__doc__"] = "Declarative mixin with crudauth's user columns."
    return type("AuthUserMixin", (), namespace)


if TYPE_CHECKING:
    # A static twin of the default shape, so type checkers see real attributes on
    # models that inherit it. At run time the factory builds the class.
    class AuthUserMixin:
        """The default user columns: email and username logins, email recovery, OAuth.

        It is ``make_auth_identity()`` with its defaults, without the MFA columns.

        Example:
            ```python
            class User(Base, AuthUserMixin):
                __tablename__ = "users"
            ```
        """

        id: Mapped[int]
        email: Mapped[str]
        username: Mapped[str]
        hashed_password: Mapped[str]
        is_active: Mapped[bool]
        is_superuser: Mapped[bool]
        email_verified: Mapped[bool]
        token_version: Mapped[int]
        oauth_provider: Mapped[str | None]
        google_id: Mapped[str | None]
        github_id: Mapped[str | None]
        oauth_created_at: Mapped[datetime | None]
        oauth_updated_at: Mapped[datetime | None]
        created_at: Mapped[datetime]
        updated_at: Mapped[datetime | None]

else:
    AuthUserMixin = make_auth_identity()
