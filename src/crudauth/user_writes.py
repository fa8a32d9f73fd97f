"""User inserts, updates, conditional updates and reloads of stale rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_object_session
from sqlalchemy.sql.elements import ColumnElement

from crudauth.user_cache import CACHED_ROW_MARK, UserRowCache, came_from_cache
from crudauth.user_queries import UserQueries, _is_unavailable, _raise_unavailable
from crudauth.utils.identifiers import canonical_email

__all__ = ["UserWrites"]


class UserWrites(UserQueries):
    """Writes to the user table, shared by ``UserRepository``.

    Every write commits immediately and drops the row from ``row_cache``. A mixin
    without a constructor, because ``UserRepository.__init__`` sets every attribute.

    Attributes:
        row_cache: The cache of recently loaded rows, or ``None`` when rows are
            always loaded from the database.
    """

    row_cache: UserRowCache | None

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
