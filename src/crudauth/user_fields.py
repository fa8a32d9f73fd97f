"""Logical user fields mapped onto the app's model, the base of ``UserRepository``."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import ColumnProperty, Mapper

from crudauth.constants import HOOK_HIDDEN_FIELDS, LOGICAL_FIELDS
from crudauth.utils.identifiers import canonical_email

__all__ = ["UserFields"]


def _string_lengths(type_: Any) -> list[int]:
    """Collect the ``String(n)`` lengths of a type, its decorated impl and variants."""
    lengths: list[int] = []
    variants = getattr(type_, "_variant_mapping", None) or {}
    for variant in variants.values():
        lengths.extend(_string_lengths(variant))
    if isinstance(type_, sa.types.TypeDecorator):
        lengths.extend(_string_lengths(type_.impl_instance))
    elif isinstance(type_, sa.String) and type_.length is not None:
        lengths.append(type_.length)
    return lengths


class UserFields:
    """Logical field names mapped onto the app's columns, shared by ``UserRepository``.

    A mixin without a constructor, because ``UserRepository.__init__`` sets every
    attribute.

    Attributes:
        model: The app's mapped SQLAlchemy user class.
        column_map: Logical field name to the model's attribute name, for fields the
            app named differently.
        recovery: The recovery factor, ``"email"`` or another channel's name, or
            ``None`` when accounts have no recovery factor.
    """

    model: type[Any]
    column_map: dict[str, str]
    recovery: str | None
    _mapper: Mapper[Any]

    # -- translation helpers -------------------------------------------------------

    def col(self, logical: str) -> str:
        """Return the model attribute name of ``logical``.

        Args:
            logical: A logical field name.

        Returns:
            The mapped name from ``column_map``, else ``logical`` itself.
        """
        return self.column_map.get(logical, logical)

    @cached_property
    def _columns(self) -> dict[str, sa.Column[Any]]:
        """Map each single-column attribute name to its column."""
        columns: dict[str, sa.Column[Any]] = {}
        for prop in self._mapper.column_attrs:
            if isinstance(prop, ColumnProperty) and len(prop.columns) == 1:
                column = prop.columns[0]
                if isinstance(column, sa.Column):
                    columns[prop.key] = column
        return columns

    def _column(self, logical: str) -> sa.Column[Any] | None:
        return self._columns.get(self.col(logical))

    def has(self, logical: str) -> bool:
        """Return whether the model has the column ``logical`` resolves to.

        Args:
            logical: A logical field name.

        Returns:
            Whether a single-column attribute of that name exists.
        """
        return self.col(logical) in self._columns

    def is_unique_column(self, logical: str) -> bool:
        """Return whether ``logical`` is a column that is unique on its own.

        A column unique only inside a composite constraint does not count, because two
        rows could then share its value and first-match login resolution would pick one
        of them at random.

        Args:
            logical: A logical field name.

        Returns:
            Whether the column is the primary key or has a single-column unique
            constraint or index. ``False`` when the model lacks it.
        """
        column = self._column(logical)
        if column is None:
            return False
        if column.unique or (column.primary_key and len(self._mapper.primary_key) == 1):
            return True
        table = column.table
        for constraint in getattr(table, "constraints", ()):
            if isinstance(constraint, sa.UniqueConstraint) and list(constraint.columns) == [column]:
                return True
        return any(
            index.unique and list(index.columns) == [column]
            for index in getattr(table, "indexes", ())
        )

    def get(self, user: Any, logical: str, default: Any = None) -> Any:
        """Read the field ``logical`` from ``user``.

        Args:
            user: The user row.
            logical: A logical field name.
            default: Value returned when the model has no such column.

        Returns:
            The stored value, or ``default``.
        """
        if not self.has(logical):
            return default
        return getattr(user, self.col(logical), default)

    def set_field(self, user: Any, logical: str, value: Any) -> None:
        """Set the field ``logical`` on ``user`` without committing.

        Nothing happens when the model lacks the column.

        Args:
            user: The user row.
            logical: A logical field name.
            value: The new value.
        """
        if self.has(logical):
            setattr(user, self.col(logical), value)

    def string_length(self, logical: str) -> int | None:
        """Return the declared ``String(n)`` length of the column ``logical``.

        Args:
            logical: A logical field name.

        Returns:
            The smallest length across the type's variants and decorated types, or
            ``None`` when the column is missing or has no length.
        """
        column = self._column(logical)
        if column is None:
            return None
        lengths = _string_lengths(column.type)
        return min(lengths) if lengths else None

    def exceeds_length(self, logical: str, value: Any) -> int | None:
        """Check a string against the declared length of the column ``logical``.

        Emails are measured in their canonical (stored) form.

        Args:
            logical: A logical field name.
            value: The value to store. Only strings are measured.

        Returns:
            The column length when ``value`` is longer than it, else ``None``.
        """
        if not isinstance(value, str):
            return None
        limit = self.string_length(logical)
        if limit is None:
            return None
        measured = canonical_email(value) if logical == "email" else value
        return limit if len(measured) > limit else None

    # -- status readers ------------------------------------------------------------

    def user_id(self, user: Any) -> Any:
        """Return the user's primary key.

        Args:
            user: The user row.

        Returns:
            The value of the ``id`` field, or ``None`` when the model lacks it.
        """
        return self.get(user, "id")

    def is_active(self, user: Any) -> bool:
        """Return whether the account is enabled.

        Args:
            user: The user row.

        Returns:
            The ``is_active`` flag, or ``True`` when the model has none.
        """
        return bool(self.get(user, "is_active", True))

    def is_superuser(self, user: Any) -> bool:
        """Return whether the user is an administrator.

        Args:
            user: The user row.

        Returns:
            The ``is_superuser`` flag, or ``False`` when the model has none.
        """
        return bool(self.get(user, "is_superuser", False))

    def email_verified(self, user: Any) -> bool:
        """Return whether the user's email address is verified.

        Args:
            user: The user row.

        Returns:
            The ``email_verified`` flag, or ``False`` when the model has none.
        """
        return bool(self.get(user, "email_verified", False))

    def recovery_verified(self, user: Any) -> bool:
        """Return whether the user's recovery factor is verified.

        Args:
            user: The user row.

        Returns:
            The flag named by ``recovery_verified_field``, or ``False`` when recovery
            is disabled or the model has no such flag.
        """
        field = self.recovery_verified_field
        return field is not None and bool(self.get(user, field, False))

    def token_version(self, user: Any) -> int:
        """Return the user's credential epoch.

        Args:
            user: The user row.

        Returns:
            The ``token_version`` value, or ``0`` when the column is absent or null.
        """
        return int(self.get(user, "token_version", 0) or 0)

    def to_dict(self, user: Any) -> dict[str, Any]:
        """Return ``{logical: value}`` for the contract fields the model has.

        App columns are not included, nor the MFA secret and recovery codes, so hooks
        never receive them. The password hash is included.

        Args:
            user: The user row.

        Returns:
            The fields by logical name, as hooks receive them.
        """
        return {
            logical: self.get(user, logical)
            for logical in LOGICAL_FIELDS
            if logical not in HOOK_HIDDEN_FIELDS and self.has(logical)
        }

    # -- recovery factor ----------------------------------------------------------

    @property
    def recovery_verified_field(self) -> str | None:
        """Logical name of the flag proving the recovery factor, if any.

        It is ``email_verified`` for email recovery, ``{factor}_verified`` for another
        factor, and ``None`` when recovery is disabled.
        """
        if self.recovery is None:
            return None
        return "email_verified" if self.recovery == "email" else f"{self.recovery}_verified"
