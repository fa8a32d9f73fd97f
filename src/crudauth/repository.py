"""The only component that reads or writes the app's user model.

crudauth speaks logical field names (``LOGICAL_FIELDS``); ``column_map`` translates the
ones an app named differently. Every write commits immediately, so apps that commit at
the end of a request should know auth writes are already durable.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_object_session
from sqlalchemy.orm import ColumnProperty, Mapper
from sqlalchemy.sql.elements import ColumnElement

from crudauth.constants import (
    HOOK_HIDDEN_FIELDS,
    LOGICAL_FIELDS,
    REGISTRATION_ALLOWED_FIELDS,
    REGISTRATION_GATED_FIELDS,
)
from crudauth.exceptions import StoreUnavailableError
from crudauth.user_cache import CACHED_ROW_MARK, UserRowCache, came_from_cache
from crudauth.utils.identifiers import canonical_email, canonical_username

__all__ = [
    "LOGICAL_FIELDS",
    "REGISTRATION_ALLOWED_FIELDS",
    "REGISTRATION_GATED_FIELDS",
    "UserRepository",
]

logger = logging.getLogger("crudauth.repository")
gate_logger = logging.getLogger("crudauth")

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


class UserRepository:
    """Adapter between crudauth's logical user fields and the app's model.

    Every read and write of the user table goes through here, so a ``column_map`` or a
    missing optional column is handled in one place. ``CRUDAuth`` builds one and
    exposes it as ``auth.repo``.

    Args:
        model: The app's mapped SQLAlchemy user class, with a single-column primary
            key.
        column_map: Logical field name to the model's attribute name, for fields the
            app named differently.
        register_extra_fields: App columns that registration may also set.
        login_fields: Logical fields a login identifier is tried against, in order.
            Defaults to ``["email", "username"]``.
        recovery: The recovery factor, ``"email"`` or another channel's name, or
            ``None`` when accounts have no recovery factor.

    Raises:
        TypeError: ``model`` is not a mapped SQLAlchemy class.
        ValueError: The model's primary key has more than one column.

    Example:
        ```python
        @app.get("/me/email")
        async def my_email(principal: Principal = Depends(auth.current_user())):
            return {"email": auth.repo.get(principal.user, "email")}
        ```
    """

    def __init__(
        self,
        model: type[Any],
        column_map: Mapping[str, str] | None = None,
        register_extra_fields: Iterable[str] | None = None,
        login_fields: Iterable[str] | None = None,
        recovery: str | None = "email",
    ) -> None:
        try:
            mapper = sa.inspect(model)
        except sa_exc.NoInspectionAvailable:
            raise TypeError(
                f"user_model must be a mapped SQLAlchemy class, not {model!r}"
            ) from None
        if not isinstance(mapper, Mapper):
            raise TypeError(f"user_model must be a mapped SQLAlchemy class, not {model!r}")
        if len(mapper.primary_key) != 1:
            raise ValueError(f"user_model {model.__name__} must have a single-column primary key")
        self.model = model
        self.column_map: dict[str, str] = dict(column_map or {})
        self.register_extra_fields: frozenset[str] = frozenset(register_extra_fields or ())
        self.login_fields: list[str] = list(login_fields or ["email", "username"])
        self.recovery = recovery
        self._mapper: Mapper[Any] = mapper
        self._warned_provisioning_keys: set[str] = set()
        # Set by CRUDAuth when rows may be served from process memory.
        self.row_cache: UserRowCache | None = None

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

    # -- reads ---------------------------------------------------------------------

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

    # -- writes --------------------------------------------------------------------

    def _attribute_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Resolve logical or mapped keys to model attributes, canonicalizing email."""
        values: dict[str, Any] = {}
        email_attribute = self.col("email")
        for key, value in data.items():
            attribute = self.col(key)
            if attribute not in self._columns:
                continue
            if attribute == email_attribute and isinstance(value, str):
                value = canonical_email(value)
            values[attribute] = value
        return values

    async def _commit(self, db: AsyncSession, user: Any, operation: str) -> Any:
        try:
            await db.commit()
            self._forget_cached(user)
            await db.refresh(user)
        except Exception as exc:
            if _is_unavailable(exc):
                _raise_unavailable(operation, exc)
            raise
        return user

    def _forget_cached(self, user: Any) -> None:
        # A committed write must not be hidden by a row cached before it.
        if self.row_cache is not None:
            # The identity key reads without a query even when commit expired the row.
            identity = sa.inspect(user).identity
            if identity:
                self.row_cache.forget(identity[0])

    async def create(self, db: AsyncSession, data: Mapping[str, Any]) -> Any:
        """Insert a user from ``data``, commit, and return the refreshed row.

        Keys the model lacks are skipped, and an email is stored in canonical form.

        Args:
            db: The database session.
            data: Field values by logical or model attribute name.

        Returns:
            The new user row.

        Raises:
            sqlalchemy.exc.IntegrityError: A unique value is taken. It propagates so
                the caller can respond with a duplicate-value error.
            StoreUnavailableError: The database cannot be reached.
        """
        user = self.model(**self._attribute_values(data))
        db.add(user)
        return await self._commit(db, user, "create")

    async def update(self, db: AsyncSession, user: Any, data: Mapping[str, Any]) -> Any:
        """Set each field of ``data`` the model has, commit, and return the row.

        Args:
            db: The database session.
            user: The user row.
            data: Field values by logical or model attribute name. An email is stored
                in canonical form.

        Returns:
            The refreshed user row.

        Raises:
            sqlalchemy.exc.IntegrityError: A unique value is taken.
            StoreUnavailableError: The database cannot be reached.
        """
        for attribute, value in self._attribute_values(data).items():
            setattr(user, attribute, value)
        return await self._commit(db, user, "update")

    def _where_this_user(self, user: Any) -> ColumnElement[bool]:
        pk_column = self._mapper.primary_key[0]
        pk_attr = self._mapper.get_property_by_column(pk_column).key
        condition: ColumnElement[bool] = getattr(self.model, pk_attr) == getattr(user, pk_attr)
        return condition

    async def _conditional_update(
        self,
        db: AsyncSession,
        user: Any,
        conditions: list[ColumnElement[bool]],
        values: Mapping[str, Any],
        operation: str,
    ) -> bool:
        """Run one ``UPDATE ... WHERE`` on this user's row and report whether it hit."""
        statement = (
            sa.update(self.model)
            .where(self._where_this_user(user), *conditions)
            .values(values)
            .execution_options(synchronize_session=False)
        )
        try:
            result = await db.execute(statement)
            await db.commit()
            self._forget_cached(user)
            await db.refresh(user)
        except Exception as exc:
            if _is_unavailable(exc):
                _raise_unavailable(operation, exc)
            raise
        return bool(getattr(result, "rowcount", 0) == 1)

    async def increment_token_version(self, db: AsyncSession, user: Any) -> Any:
        """Add one to the user's ``token_version`` and return the refreshed row.

        The increment is a single SQL ``UPDATE``, so two concurrent password changes
        both count and neither can leave an old token valid. Nothing is written when
        the model has no ``token_version`` column.

        Args:
            db: The database session.
            user: The user row.

        Returns:
            ``user``, refreshed from the database.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        if not self.has("token_version"):
            return user
        column = getattr(self.model, self.col("token_version"))
        await self._conditional_update(
            db,
            user,
            [],
            {self.col("token_version"): sa.func.coalesce(column, 0) + 1},
            "increment_token_version",
        )
        return user

    async def claim_totp_step(self, db: AsyncSession, user: Any, step: int) -> bool:
        """Record ``step`` as the last accepted TOTP step if it is newer.

        One conditional ``UPDATE`` (``totp_last_step`` null or smaller than ``step``),
        so a code can be accepted once even when two requests race with it.

        Args:
            db: The database session.
            user: The user row.
            step: The TOTP time step of the accepted code.

        Returns:
            Whether this call claimed the step. ``False`` when the step is not newer
            or the model has no ``totp_last_step`` column.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        if not self.has("totp_last_step"):
            return False
        column = getattr(self.model, self.col("totp_last_step"))
        return await self._conditional_update(
            db,
            user,
            [sa.or_(column.is_(None), column < step)],
            {self.col("totp_last_step"): step},
            "claim_totp_step",
        )

    async def update_if_unchanged(
        self,
        db: AsyncSession,
        user: Any,
        expected: Mapping[str, Any],
        data: Mapping[str, Any],
    ) -> bool:
        """Write ``data`` only while every field of ``expected`` still has its value.

        A compare-and-set in one ``UPDATE``, then a commit.

        Args:
            db: The database session.
            user: The user row.
            expected: Logical field names and the values they must still hold.
                ``None`` matches SQL ``NULL``.
            data: Field values to write, by logical or model attribute name.

        Returns:
            Whether the row was written. ``False``, with nothing written, when another
            request changed one of the ``expected`` fields first, or when ``data``
            names no column of the model.

        Raises:
            ValueError: ``expected`` names a field the model lacks.
            StoreUnavailableError: The database cannot be reached.
        """
        conditions: list[ColumnElement[bool]] = []
        for logical, value in expected.items():
            if not self.has(logical):
                raise ValueError(f"update_if_unchanged: the model has no {logical!r} column")
            column = getattr(self.model, self.col(logical))
            conditions.append(column.is_(None) if value is None else column == value)
        values = self._attribute_values(data)
        if not values:
            return False
        return await self._conditional_update(db, user, conditions, values, "update_if_unchanged")

    async def mark_recovery_verified(self, db: AsyncSession, user: Any) -> Any:
        """Set the recovery-verified flag and commit.

        Nothing is written when recovery is disabled or the model lacks the flag.

        Args:
            db: The database session.
            user: The user row.

        Returns:
            The user row, refreshed when it was written.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        field = self.recovery_verified_field
        if field is None or not self.has(field):
            return user
        return await self.update(db, user, {field: True})

    async def refresh_if_expired(self, db: AsyncSession, user: Any) -> Any:
        """Reload ``user`` when a rollback expired its attributes.

        Args:
            db: The database session holding ``user``.
            user: The user row.

        Returns:
            ``user``, reloaded only when it was persistent and expired.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        state = sa.inspect(user)
        if not state.expired_attributes or not state.persistent:
            return user
        try:
            await db.refresh(user)
        except Exception as exc:
            if _is_unavailable(exc):
                _raise_unavailable("refresh_if_expired", exc)
            raise
        return user

    async def reload_if_cached(self, db: AsyncSession | None, user: Any) -> Any:
        """Return ``user`` with the database's current values, or ``None`` if gone.

        A row served from the user cache may lag behind the database, so it is loaded
        again. A row loaded by this request is returned as it is, without a query.

        Args:
            db: The session holding ``user``; ``None`` finds it from the row.
            user: A row returned by authentication.

        Returns:
            The current row, or ``None`` when it was deleted. A cached row that no
            session holds is returned as it is. The cache keeps the reloaded row, so
            later requests stop reloading it.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        if not came_from_cache(user):
            return user
        session = db if db is not None else async_object_session(user)
        if session is None:
            return user
        state = sa.inspect(user)
        state.info.pop(CACHED_ROW_MARK, None)
        user_id = state.identity[0] if state.identity else None
        cache = self.row_cache
        started = cache.begin_load() if cache is not None else 0
        fresh = await self._reload(session, user, user_id)
        if cache is not None and user_id is not None:
            if fresh is None:
                cache.forget(user_id)
            else:
                cache.store(fresh, user_id, started)
        return fresh

    async def _reload(self, session: AsyncSession, user: Any, user_id: Any) -> Any:
        if user not in session:
            # A detached row, served to a reading route: load the row anew.
            return await self.get_by_id(session, user_id)
        try:
            await session.refresh(user)
        except sa_exc.InvalidRequestError:
            # The row was deleted since it was cached.
            return None
        except Exception as exc:
            if _is_unavailable(exc):
                _raise_unavailable("reload_if_cached", exc)
            raise
        return user

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

    # -- gating helpers --------------------------------------------------------------

    @property
    def recovery_verified_field(self) -> str | None:
        """Logical name of the flag proving the recovery factor, if any.

        It is ``email_verified`` for email recovery, ``{factor}_verified`` for another
        factor, and ``None`` when recovery is disabled.
        """
        if self.recovery is None:
            return None
        return "email_verified" if self.recovery == "email" else f"{self.recovery}_verified"

    def _with_mapped(self, names: Iterable[str]) -> set[str]:
        return {alias for name in names for alias in (name, self.col(name))}

    @cached_property
    def _contract_names(self) -> frozenset[str]:
        names = set(LOGICAL_FIELDS)
        if self.recovery_verified_field is not None:
            names.add(self.recovery_verified_field)
        return frozenset(self._with_mapped(names))

    @cached_property
    def _gated_names(self) -> frozenset[str]:
        # Mapped names are gated too: with {"is_superuser": "is_admin"} a client must
        # not reach the privilege flag through its real attribute name.
        names = set(REGISTRATION_GATED_FIELDS)
        if self.recovery_verified_field is not None:
            names.add(self.recovery_verified_field)
        return frozenset(self._with_mapped(names))

    @cached_property
    def _allowed_names(self) -> frozenset[str]:
        return frozenset(
            self._with_mapped(REGISTRATION_ALLOWED_FIELDS | self.register_extra_fields)
        )

    def filter_registration_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Keep only allowed, non-gated registration fields.

        A privileged field stays out even when listed in ``register_extra_fields``, so
        no client can register itself as an administrator or as verified.

        Args:
            data: The submitted registration fields.

        Returns:
            The fields registration may store.
        """
        return {
            key: value
            for key, value in data.items()
            if key in self._allowed_names and key not in self._gated_names
        }

    def gated_register_fields(self, names: Iterable[str]) -> set[str]:
        """Return which of ``names`` registration never persists.

        Args:
            names: Field names, logical or mapped.

        Returns:
            The privileged names among them.
        """
        return {name for name in names if name in self._gated_names}

    def droppable_register_fields(self, names: Iterable[str]) -> set[str]:
        """Return model columns among ``names`` that registration would drop.

        Args:
            names: Field names, logical or mapped.

        Returns:
            The names that are model columns but neither allowed nor privileged.
        """
        return {
            name
            for name in names
            if name not in self._allowed_names and name not in self._gated_names and self.has(name)
        }

    def filter_provisioning_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Drop contract fields from server-set values, keeping app columns.

        ``new_user_defaults`` and ``new_user_fields`` may fill app columns only, so a
        callback cannot make a user an administrator or mark an email verified. Each
        dropped key is logged once per repository.

        Args:
            data: The server-set field values.

        Returns:
            The values whose keys are not crudauth's contract fields.
        """
        allowed: dict[str, Any] = {}
        for key, value in data.items():
            if key not in self._contract_names:
                allowed[key] = value
                continue
            if key not in self._warned_provisioning_keys:
                self._warned_provisioning_keys.add(key)
                gate_logger.warning(
                    "new_user_fields/new_user_defaults set the crudauth-owned field %r; "
                    "it was dropped. Only app columns can be set this way.",
                    key,
                )
        return allowed
