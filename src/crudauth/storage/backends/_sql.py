"""SQL helpers shared by the database store and the database rate limiter."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from sqlalchemy import String, Table
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from crudauth.storage.constants import (
    DATABASE_KEY_DIGEST_SEPARATOR,
    DATABASE_KEY_KEPT_PREFIX_LENGTH,
    DATABASE_KEY_MAX_LENGTH,
    MYSQL_DIALECTS,
)

GLOB_CHARACTERS = frozenset("*?[")
# Lock wait timeout and deadlock.
MYSQL_RETRYABLE_CODES = frozenset({1205, 1213})
# serialization_failure and deadlock_detected.
POSTGRESQL_RETRYABLE_STATES = frozenset({"40001", "40P01"})
SQLITE_BUSY_MESSAGE = "database is locked"


def now_ms() -> int:
    """Return the application clock in epoch milliseconds."""
    return int(time.time() * 1000)


def stored_key(key: str) -> str:
    """Return ``key`` as it fits the key column.

    A key over 255 characters keeps its first 190, then ``#`` and the SHA-256 hex of
    the whole key, so distinct long keys stay distinct.
    """
    if len(key) <= DATABASE_KEY_MAX_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[:DATABASE_KEY_KEPT_PREFIX_LENGTH]}{DATABASE_KEY_DIGEST_SEPARATOR}{digest}"


def key_type() -> TypeEngine[str]:
    """Return the key column type, compared byte for byte on every dialect."""
    # NOTE: the MySQL and MariaDB collations are declared but untested here.
    return (
        String(DATABASE_KEY_MAX_LENGTH)
        .with_variant(mysql.VARCHAR(DATABASE_KEY_MAX_LENGTH, collation="utf8mb4_0900_bin"), "mysql")
        .with_variant(
            mysql.VARCHAR(DATABASE_KEY_MAX_LENGTH, collation="utf8mb4_nopad_bin"), "mariadb"
        )
    )


def dialect_of(session: AsyncSession) -> str:
    """Return the dialect name of a session, such as ``postgresql`` or ``sqlite``."""
    return session.get_bind().dialect.name


def deletes_returning(session: AsyncSession) -> bool:
    """Return whether the database supports ``DELETE ... RETURNING``."""
    return bool(session.get_bind().dialect.delete_returning)


def upserts_returning(session: AsyncSession) -> bool:
    """Return whether an ``INSERT ... ON CONFLICT`` upsert can use ``RETURNING``."""
    dialect = session.get_bind().dialect
    return dialect.name not in MYSQL_DIALECTS and bool(dialect.insert_returning)


def upsert_statement(session: AsyncSession, table: Table, values: dict[str, Any]) -> Any:
    """Return an INSERT for ``values`` that the caller turns into an upsert."""
    name = dialect_of(session)
    if name == "postgresql":
        return postgresql.insert(table).values(**values)
    if name in MYSQL_DIALECTS:
        return mysql.insert(table).values(**values)
    return sqlite.insert(table).values(**values)


def on_conflict_update(
    session: AsyncSession, insert: Any, key: Any, changes: dict[str, Any]
) -> Any:
    """Make ``insert`` update ``changes`` when a row with the same key exists."""
    if dialect_of(session) in MYSQL_DIALECTS:
        return insert.on_duplicate_key_update(**changes)
    return insert.on_conflict_do_update(index_elements=[key], set_=changes)


def is_retryable(exc: DBAPIError) -> bool:
    """Return whether ``exc`` is a deadlock, lock timeout or serialization failure.

    Recognises PostgreSQL SQLSTATE 40001 and 40P01, MySQL errors 1205 and 1213, and
    SQLite's "database is locked".
    """
    original = exc.orig
    for candidate in (original, getattr(original, "__cause__", None)):
        if getattr(candidate, "sqlstate", None) in POSTGRESQL_RETRYABLE_STATES:
            return True
    args = getattr(original, "args", ())
    if args and args[0] in MYSQL_RETRYABLE_CODES:
        return True
    return SQLITE_BUSY_MESSAGE in str(original)


def glob_prefix(pattern: str) -> str:
    """Return the text of ``pattern`` before its first ``*``, ``?`` or ``[``."""
    for index, character in enumerate(pattern):
        if character in GLOB_CHARACTERS:
            return pattern[:index]
    return pattern
