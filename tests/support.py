"""Helpers for HTTP tests: sample accounts and request shortcuts."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import AuthUserMixin

ALICE = {"email": "alice@example.com", "username": "alice", "password": "Correct-Horse-1"}
BOB = {"email": "bob@example.com", "username": "bob", "password": "Battery-Staple-2"}


async def login(
    client: httpx.AsyncClient,
    username: str = "alice",
    password: str = "Correct-Horse-1",
    **form: str,
) -> httpx.Response:
    """POST the login form and return the response."""
    return await client.post("/login", data={"username": username, "password": password, **form})


def csrf_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """Return the ``X-CSRF-Token`` header echoing the client's CSRF cookie."""
    return {"X-CSRF-Token": client.cookies.get("csrf_token") or ""}


def default_model() -> type[Any]:
    class Base(DeclarativeBase):
        pass

    class User(Base, AuthUserMixin):
        __tablename__ = "users"
        full_name: Mapped[str | None] = mapped_column(String(100), default=None)
        role: Mapped[str] = mapped_column(String(20), default="user")

    return User


POSTGRES_URL = os.environ.get("CRUDAUTH_TEST_POSTGRES_URL")


def user_db_params(sqlite: str = "sqlite") -> list[Any]:
    """Return the user databases to run on: ``sqlite`` (or ``sqlite-file``) and PostgreSQL.

    ``sqlite`` is one in-memory connection that every session shares, so a rolled-back
    request can undo another's uncommitted write. Races that check which write won use
    ``sqlite-file``, a database file with a connection per session.
    """
    params: list[Any] = [sqlite]
    params.append(
        pytest.param(
            "postgres",
            marks=pytest.mark.skipif(POSTGRES_URL is None, reason="PostgreSQL not started"),
        )
    )
    return params
