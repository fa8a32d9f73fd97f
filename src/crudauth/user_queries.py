"""User lookups by primary key, field, login identifier and OAuth account."""

from __future__ import annotations

import logging
import re
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from crudauth.exceptions import StoreUnavailableError
from crudauth.user_fields import UserFields
from crudauth.utils.identifiers import canonical_email, canonical_username

__all__ = ["UserQueries"]

# Named after the public module ``crudauth.repository``, so log filters on that name
# keep matching.
logger = logging.getLogger("crudauth.repository")

# Errors meaning the user database is unreachable. IntegrityError is deliberately
# absent and always propagates, because callers turn it into a duplicate-value response.
_UNAVAILABLE_ERRORS = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    ConnectionError,
)
_INTEGER_TEXT = re.compile(r"-?[0-9]{1,19}")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _raise_unavailable(operation: str, exc: BaseException) -> NoReturn:
    # Only class names are logged: a driver error's text carries the SQL parameters,
    # which can include emails or password hashes.
    logger.error(
        "User database unavailable during %s (%s)",
        operation,
        type(getattr(exc, "orig", None) or exc).__name__,
    )
    raise StoreUnavailableError("user database", exc) from exc


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.IntegrityError):
        return False
    if isinstance(exc, _UNAVAILABLE_ERRORS):
        return True
    # Any other driver error (a SQL mistake, bad data) is a bug to raise, not an outage
    # to retry, unless SQLAlchemy found the connection dropped while running it.
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


class UserQueries(UserFields):
    """Reads of the user table, shared by ``UserRepository``.

    A mixin without a constructor, because ``UserRepository.__init__`` sets every
    attribute.

    Attributes:
        login_fields: Logical fields a login identifier is tried against, in order.
    """

    login_fields: list[str]

    async def _first(self, db: AsyncSession, statement: Any, operation: str) -> Any:
        try:
            result = await db.execute(statement)
            return result.scalars().first()
        except Exception as exc:
            if _is_unavailable(exc):
                _raise_unavailable(operation, exc)
            raise

    def _coerce_id(self, user_id: Any) -> Any:
        """Convert ``user_id`` to the primary key's Python type; None if it cannot."""
        if user_id is None or isinstance(user_id, bool):
            return None
        pk = self._mapper.primary_key[0]
        try:
            python_type = pk.type.python_type
        except NotImplementedError:
            return user_id
        if isinstance(user_id, python_type):
            if python_type is int and not _INT64_MIN <= user_id <= _INT64_MAX:
                return None
            return user_id
        if python_type is int:
            # Strict digits only, and within 64 bits, so odd spellings ("٤٢", " 42 ")
            # and overflowing values never reach the driver.
            text = str(user_id)
            if not _INTEGER_TEXT.fullmatch(text):
                return None
            value = int(text)
            return value if _INT64_MIN <= value <= _INT64_MAX else None
        try:
            return python_type(user_id)
        except (TypeError, ValueError, ArithmeticError):
            return None

    async def get_by_id(self, db: AsyncSession, user_id: Any) -> Any:
        """Load the user whose primary key is ``user_id``, coerced to the key's type.

        A JWT ``sub`` arrives as ``"42"`` while the key is an integer, and strict
        databases never match across types.

        Args:
            db: The database session.
            user_id: The primary key, in its own type or as text.

        Returns:
            The user row, or ``None`` when no row matches. An id that cannot be
            coerced gives ``None`` without a query.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        value = self._coerce_id(user_id)
        if value is None:
            return None
        pk_attr = self._mapper.get_property_by_column(self._mapper.primary_key[0]).key
        statement = sa.select(self.model).where(getattr(self.model, pk_attr) == value)
        return await self._first(db, statement, "get_by_id")

    async def get_by_field(self, db: AsyncSession, logical: str, value: Any) -> Any:
        """Load the user whose ``logical`` field equals ``value``.

        Emails are canonicalized first. A username matches exactly, else any stored
        spelling that folds to the same lower-case form. Other fields match exactly.

        Args:
            db: The database session.
            logical: A logical field name.
            value: The value to look up.

        Returns:
            The user row, or ``None`` when no row matches, the model lacks the column,
            or ``value`` is ``None`` or contains a NUL character.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        if value is None or not self.has(logical):
            return None
        # No stored text can hold NUL (PostgreSQL refuses it), so nothing can match and
        # a query would only fail.
        if isinstance(value, str) and "\x00" in value:
            return None
        attribute = getattr(self.model, self.col(logical))
        if logical == "email" and isinstance(value, str):
            value = canonical_email(value)
        user = await self._first(
            db, sa.select(self.model).where(attribute == value), "get_by_field"
        )
        if user is not None or logical != "username" or not isinstance(value, str):
            return user
        # NOTE: lower() in SQL does not fold everything casefold() does: SQLite folds
        # only ASCII and no database maps "ß" to "ss", so such spellings miss here.
        # Ordering by the key makes a legacy table with several folding matches
        # resolve to the same row every time.
        statement = (
            sa.select(self.model)
            .where(sa.func.lower(attribute) == canonical_username(value))
            .order_by(*self._mapper.primary_key)
            .limit(1)
        )
        return await self._first(db, statement, "get_by_field")

    async def get_by_email(self, db: AsyncSession, email: str) -> Any:
        """Load the user with the canonical form of ``email``.

        Args:
            db: The database session.
            email: The email address as typed.

        Returns:
            The user row, or ``None``.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        return await self.get_by_field(db, "email", email)

    async def get_by_username(self, db: AsyncSession, username: str) -> Any:
        """Load the user whose username folds to the same form as ``username``.

        Args:
            db: The database session.
            username: The username as typed.

        Returns:
            The user row, or ``None``.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        return await self.get_by_field(db, "username", username)

    async def resolve_login(self, db: AsyncSession, identifier: str) -> Any:
        """Find the user a login identifier names.

        ``identifier`` is tried against each of ``login_fields`` in order, and the
        first match wins.

        Args:
            db: The database session.
            identifier: The login identifier as typed.

        Returns:
            The user row, or ``None``.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        for logical in self.login_fields:
            user = await self.get_by_field(db, logical, identifier)
            if user is not None:
                return user
        return None

    async def get_by_oauth(self, db: AsyncSession, provider: str, provider_user_id: str) -> Any:
        """Load the user linked to an OAuth provider's account id.

        Args:
            db: The database session.
            provider: The provider name, whose account ids live in the
                ``{provider}_id`` column.
            provider_user_id: The account id at the provider.

        Returns:
            The user row, or ``None`` when none is linked, ``provider_user_id`` is
            empty, or the model has no ``{provider}_id`` column.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        if not provider_user_id:
            return None
        return await self.get_by_field(db, f"{provider}_id", provider_user_id)

    async def username_exists(self, db: AsyncSession, username: str) -> bool:
        """Return whether a username with the same folded form is taken.

        Args:
            db: The database session.
            username: The username to check.

        Returns:
            Whether a user with that username exists.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        return await self.get_by_field(db, "username", username) is not None
