"""The context every command receives, user lookup and database sessions."""

from __future__ import annotations

import argparse
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crudauth.cli.loader import LoadedApp
from crudauth.cli.output import CommandError, Output
from crudauth.crud_auth import CRUDAuth
from crudauth.dependencies import open_dependency
from crudauth.hooks import HookContext
from crudauth.transports.session import SessionManager

__all__ = [
    "CLI_SOURCE",
    "CommandContext",
    "database_session",
    "hook_context",
    "require_session_manager",
    "resolve_user",
    "user_summary",
]

logger = logging.getLogger("crudauth.cli")

# Hooks read this from HookContext.extra["source"] to tell operator actions apart.
CLI_SOURCE = "cli"
_SELECTORS = ("id", "email", "username")


@dataclass
class CommandContext:
    """The loaded app, the parsed arguments and the output of one command run.

    Attributes:
        auth: The app's ``CRUDAuth`` object, initialized.
        loaded: What the loader found: the module, the import path, the ASGI app.
        args: The parsed command line.
        out: Where the command writes its result.
    """

    auth: CRUDAuth
    loaded: LoadedApp
    args: argparse.Namespace
    out: Output


@asynccontextmanager
async def database_session(auth: CRUDAuth) -> AsyncIterator[AsyncSession]:
    """Open a database session through the app's own ``session`` dependency.

    The dependency's cleanup runs when the block exits.

    Args:
        auth: The app's ``CRUDAuth`` object.

    Yields:
        The database session.
    """
    async with AsyncExitStack() as stack:
        db = await open_dependency(auth.session, stack)
        yield db


def hook_context() -> HookContext:
    """Build the hook context of an operator action.

    Returns:
        A context without a request whose ``extra["source"]`` is ``"cli"``.
    """
    return HookContext(extra={"source": CLI_SOURCE})


async def resolve_user(auth: CRUDAuth, db: AsyncSession, selector: str) -> Any:
    """Find the user an operator named by id, email or username.

    ``id:``, ``email:`` and ``username:`` prefixes pick one field. Without a prefix
    every field is tried, and a value that names two different users (a username
    that is also another user's id) is rejected instead of guessed.

    Args:
        auth: The app's ``CRUDAuth`` object.
        db: The database session.
        selector: The value the operator typed, with or without a prefix.

    Returns:
        The user row.

    Raises:
        CommandError: No user matches, or the value is ambiguous.
        StoreUnavailableError: The database cannot be reached.
    """
    repo = auth.repo
    field, separator, value = selector.partition(":")
    if separator and field in _SELECTORS:
        user = await _lookup(auth, db, field, value)
        if user is None:
            raise CommandError(f"no user with {field} {value!r}")
        return user

    matches: dict[str, tuple[str, Any]] = {}
    for candidate in _SELECTORS:
        user = await _lookup(auth, db, candidate, selector)
        if user is not None:
            matches.setdefault(str(repo.user_id(user)), (candidate, user))
    if not matches:
        raise CommandError(f"no user with id, email or username {selector!r}")
    if len(matches) > 1:
        fields = ", ".join(sorted(field for field, _ in matches.values()))
        raise CommandError(
            f"{selector!r} matches different users by {fields}; prefix it with id:, "
            "email: or username:"
        )
    return next(iter(matches.values()))[1]


async def _lookup(auth: CRUDAuth, db: AsyncSession, field: str, value: str) -> Any:
    if field == "id":
        return await auth.repo.get_by_id(db, value)
    return await auth.repo.get_by_field(db, field, value)


def user_summary(auth: CRUDAuth, user: Any) -> dict[str, Any]:
    """Return the id, email and username of ``user``: enough to name it in output.

    Args:
        auth: The app's ``CRUDAuth`` object.
        user: The user row.

    Returns:
        ``{"id", "email", "username"}``, with ``None`` for a field the model lacks.
    """
    repo = auth.repo
    return {
        "id": repo.user_id(user),
        "email": repo.get(user, "email"),
        "username": repo.get(user, "username"),
    }


def require_session_manager(ctx: CommandContext) -> SessionManager:
    """Return the app's session manager, warning when its store is in process memory.

    Args:
        ctx: The loaded app, the parsed arguments and the output.

    Returns:
        The session manager.

    Raises:
        CommandError: The app has no ``SessionTransport``.
    """
    manager = ctx.auth.session_manager
    if manager is None:
        raise CommandError("this app has no SessionTransport, so it has no sessions to manage")
    transport = getattr(ctx.auth, "_session_transport", None)
    if getattr(transport, "backend", None) == "memory":
        ctx.out.note(
            "sessions live in the server's process memory; this command sees only its "
            "own, empty store. Configure redis_url= or database_store= to manage them"
        )
    return manager
