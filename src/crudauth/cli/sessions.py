"""``crudauth sessions``: list and revoke a user's sessions and token families.

The commands call the same ``SessionManager`` methods as ``GET /sessions``,
``DELETE /sessions/{handle}`` and ``POST /logout-all``, so stores, hooks and the
``session ended`` log lines behave as they do over HTTP.
"""

from __future__ import annotations

import argparse
from typing import Any

from crudauth.cli.common import (
    CommandContext,
    database_session,
    logger,
    require_session_manager,
    resolve_user,
    user_summary,
)
from crudauth.cli.output import CommandError, format_table
from crudauth.cli.users import USER_HELP
from crudauth.revocation import end_user_credentials
from crudauth.transports.session.management import list_devices, revoke_family_by_handle

__all__ = ["add_sessions_commands"]


async def list_sessions(ctx: CommandContext) -> int:
    """Run ``crudauth sessions list``: print a user's live sessions and token families.

    Args:
        ctx: The loaded app, the parsed arguments and the output.

    Returns:
        The exit status, 0.

    Raises:
        CommandError: The app has no session transport, or no single user matches.
        StoreUnavailableError: The database or the session store cannot be reached.
    """
    auth = ctx.auth
    manager = require_session_manager(ctx)
    async with database_session(auth) as db:
        user = await resolve_user(auth, db, ctx.args.user)
    user_id = auth.repo.user_id(user)
    rows = await list_devices(auth.runtime, manager, user_id)
    data = [row.model_dump(mode="json") for row in rows]
    table = format_table(
        ["HANDLE", "KIND", "CREATED", "LAST ACTIVITY", "IP", "DEVICE"],
        [
            (
                row.id,
                row.kind,
                row.created_at.isoformat(timespec="seconds"),
                row.last_activity.isoformat(timespec="seconds"),
                row.ip or "-",
                _device(row.device),
            )
            for row in rows
        ],
    )
    text = table if rows else [f"no live sessions for user id {user_id}"]
    ctx.out.result({"user": user_summary(auth, user), "sessions": data}, text)
    return 0


def validate_revoke_args(args: argparse.Namespace) -> None:
    """Check that ``sessions revoke`` names a handle or ``--all`` before the app loads.

    Args:
        args: The parsed command line.

    Raises:
        CommandError: With exit status 2, when both or neither were given.
    """
    if args.all == (args.handle is not None):
        raise CommandError("give either a session HANDLE or --all", exit_code=2)


async def revoke_sessions(ctx: CommandContext) -> int:
    """Run ``crudauth sessions revoke``: end one session, or every credential.

    With ``--all`` the user's ``token_version`` is bumped and every session and token
    family ends. Otherwise the session with the given handle ends.

    Args:
        ctx: The loaded app, the parsed arguments and the output.

    Returns:
        The exit status, 0.

    Raises:
        CommandError: Both or neither of a handle and ``--all`` were given, the app
            has no session transport, no single user matches, or the user has no live
            session with that handle.
        StoreUnavailableError: The database or a store cannot be reached.
    """
    args, auth = ctx.args, ctx.auth
    validate_revoke_args(args)
    manager = require_session_manager(ctx)
    async with database_session(auth) as db:
        user = await resolve_user(auth, db, args.user)
        user_id = auth.repo.user_id(user)
        if args.all:
            # Bumped first, so stateless bearer tokens end as well, and a revocation
            # that fails halfway still leaves every older credential dead.
            await auth.repo.increment_token_version(db, user)
            revoked = await end_user_credentials(
                auth.runtime, user_id, reason="operator_revoked_all"
            )
            logger.info(
                "operator signed out user everywhere user_id=%s revoked=%s", user_id, revoked
            )
            ctx.out.result(
                {"user": user_summary(auth, user), "revoked": revoked, "tokens_ended": True},
                f"signed user id {user_id} out everywhere: {revoked} session(s) and token "
                "device(s) revoked, "
                "bearer tokens ended",
            )
            return 0

    # Only this user's sessions and token families are searched, exactly like
    # DELETE /sessions/{handle}.
    ended = await manager.revoke_by_handle(args.handle, user_id)
    if not ended:
        ended = await revoke_family_by_handle(auth.runtime, args.handle, user_id)
    if not ended:
        raise CommandError(f"user id {user_id} has no live session with that handle")
    logger.info("operator revoked session user_id=%s handle=%s", user_id, args.handle)
    ctx.out.result(
        {"user": user_summary(auth, user), "revoked": 1, "handle": args.handle},
        f"revoked session {args.handle} of user id {user_id}",
    )
    return 0


def _device(device: dict[str, Any]) -> str:
    browser = device.get("browser") or "Unknown"
    system = device.get("os") or "Unknown"
    return f"{browser} on {system}"


def add_sessions_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``sessions list|revoke`` to ``commands``.

    Args:
        commands: The subcommand group of the top-level parser.
        common: The options every command accepts.
    """
    sessions = commands.add_parser("sessions", help="list and revoke a user's sessions")
    actions = sessions.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list", parents=[common], help="list a user's live sessions (the rows of GET /sessions)"
    )
    listing.add_argument("user", metavar="USER", help=USER_HELP)
    listing.set_defaults(handler=list_sessions)

    revoke = actions.add_parser(
        "revoke",
        parents=[common],
        help="revoke one session by handle, or all of them with --all",
        description="Revoke one session by its handle (as listed by 'sessions list'), or "
        "with --all every session and, by bumping token_version, every bearer token.",
    )
    revoke.add_argument("user", metavar="USER", help=USER_HELP)
    revoke.add_argument("handle", metavar="HANDLE", nargs="?", help="session handle to revoke")
    revoke.add_argument(
        "--all", action="store_true", help="revoke every session and end all bearer tokens"
    )
    revoke.set_defaults(handler=revoke_sessions, validate_args=validate_revoke_args)
