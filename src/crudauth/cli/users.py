"""``crudauth users``: create accounts, set passwords, (de)activate and show a user."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError

from crudauth.cli.common import (
    CommandContext,
    database_session,
    hook_context,
    logger,
    resolve_user,
    user_summary,
)
from crudauth.cli.output import CommandError
from crudauth.exceptions import PasswordPolicyException
from crudauth.password import PasswordContext
from crudauth.revocation import end_user_credentials
from crudauth.transports.session.management import list_devices
from crudauth.utils.hashing import is_unusable_password
from crudauth.utils.identifiers import username_problem
from crudauth.utils.validation_errors import is_utf8_encodable

__all__ = ["add_users_commands", "read_password"]

# Reason logged for sessions an operator ended; the HTTP routes use their own reasons.
REASON_DEACTIVATED = "account_deactivated"
REASON_PASSWORD_SET = "password_set_by_operator"
NOT_UTF8_PASSWORD = "the password is not valid UTF-8 text; nothing was changed. Send it as UTF-8"
USER_HELP = "user id, email or username (prefix id:, email: or username: to pick one)"


def read_password(from_stdin: bool) -> str:
    """Read a new password from stdin or from a prompt typed twice.

    Args:
        from_stdin: Read the first line of stdin, without its line ending, instead of
            prompting.

    Returns:
        The password.

    Raises:
        CommandError: Empty input, input that is not UTF-8, a mismatch, or no
            terminal to prompt on.
    """
    try:
        password = _read_stdin_line() if from_stdin else _prompt_twice()
    except UnicodeDecodeError:
        raise CommandError(NOT_UTF8_PASSWORD) from None
    # Such bytes come from a wrong encoding, so the password typed at sign-in differs.
    if not is_utf8_encodable(password):
        raise CommandError(NOT_UTF8_PASSWORD)
    if not password:
        raise CommandError("the password is empty; nothing was changed")
    return password


def _read_stdin_line() -> str:
    """Return the first line of stdin without its line ending."""
    line = sys.stdin.readline()
    line = line[:-1] if line.endswith("\n") else line
    return line[:-1] if line.endswith("\r") else line


def _prompt_twice() -> str:
    """Prompt on the terminal for the password twice and return it."""
    if not sys.stdin.isatty():
        raise CommandError("no terminal to prompt for the password; use --password-stdin")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != password:
        raise CommandError("the two passwords differ; nothing was changed")
    return password


async def _enforce_policy(ctx: CommandContext, password: str, context: PasswordContext) -> None:
    try:
        await ctx.auth.password_policy.enforce(password, context, field="password")
    except PasswordPolicyException as exc:
        reasons = "; ".join(str(error.get("msg", error.get("type"))) for error in exc.errors)
        raise CommandError(f"the password does not meet the policy: {reasons}") from None


async def create_user(ctx: CommandContext) -> int:
    """Run ``crudauth users create``: insert a user and fire ``on_after_register``.

    The values get the checks of ``POST /register`` and the password policy, and
    ``new_user_defaults`` apply.

    Args:
        ctx: The loaded app, the parsed arguments and the output.

    Returns:
        The exit status, 0.

    Raises:
        CommandError: A login field is missing, a value or the password is invalid,
            or a user with the same unique value exists.
        StoreUnavailableError: The database cannot be reached.
    """
    args, auth, repo = ctx.args, ctx.auth, ctx.auth.repo
    values: dict[str, Any] = {}
    for field in ("email", "username"):
        value = getattr(args, field)
        if value is not None:
            if not repo.has(field):
                raise CommandError(f"the user model has no {field} column; drop --{field}")
            values[field] = value
    missing = [field for field in auth.identity.login if field not in values]
    if missing:
        flags = ", ".join(f"--{field}" for field in missing)
        raise CommandError(f"every login field is required: pass {flags}", exit_code=2)
    _validate_new_values(repo, values)

    await _enforce_policy(
        ctx,
        args.password,
        PasswordContext(source="set", username=values.get("username"), email=values.get("email")),
    )
    async with database_session(auth) as db:
        for field, value in values.items():
            if await repo.get_by_field(db, field, value) is not None:
                raise CommandError(f"a user with {field} {value!r} already exists")
        data = {**values, "hashed_password": await auth.runtime.passwords.hash_async(args.password)}
        # NOTE: new_user_defaults apply, but the new_user_fields callback does not run,
        # because its context only knows registration and OAuth sign-up.
        data.update(auth.new_user_defaults)
        if args.superuser:
            data["is_superuser"] = True
        if args.verified and repo.recovery_verified_field is not None:
            data[repo.recovery_verified_field] = True
        try:
            user = await repo.create(db, data)
        except IntegrityError:
            await db.rollback()
            raise CommandError("a user with the same unique value already exists") from None
        await auth.hooks.fire(
            "on_after_register", repo.to_dict(user), db=db, context=hook_context()
        )
        summary = user_summary(auth, user)
    logger.info(
        "operator created user user_id=%s superuser=%s", summary["id"], bool(args.superuser)
    )
    kind = "superuser" if args.superuser else "user"
    ctx.out.result(
        {"created": summary, "superuser": bool(args.superuser)},
        f"created {kind} {_describe(summary)}",
    )
    return 0


async def set_password(ctx: CommandContext) -> int:
    """Run ``crudauth users set-password``: set a password and end every credential.

    The user's ``token_version`` is bumped, every session and token family ends, and
    ``on_after_password_reset`` fires.

    Args:
        ctx: The loaded app, the parsed arguments and the output.

    Returns:
        The exit status, 0.

    Raises:
        CommandError: No single user matches, or the password fails the policy.
        StoreUnavailableError: The database or a store cannot be reached.
    """
    auth, repo = ctx.auth, ctx.auth.repo
    async with database_session(auth) as db:
        user = await resolve_user(auth, db, ctx.args.user)
        await _enforce_policy(ctx, ctx.args.password, PasswordContext.for_user(repo, "set", user))
        hashed = await auth.runtime.passwords.hash_async(ctx.args.password)
        user = await repo.update(db, user, {"hashed_password": hashed})
        # A password set for a support ticket is a compromise response: bearer tokens
        # and every session signed in with the old password end with it.
        user = await repo.increment_token_version(db, user)
        ended = await _end_sessions(auth, repo.user_id(user), REASON_PASSWORD_SET)
        await auth.hooks.fire(
            "on_after_password_reset", repo.to_dict(user), db=db, context=hook_context()
        )
        summary = user_summary(auth, user)
    logger.info("operator set password user_id=%s sessions_ended=%s", summary["id"], ended)
    ctx.out.result(
        {"user": summary, "sessions_ended": ended},
        f"password set for {_describe(summary)}; {ended} session(s) ended",
    )
    return 0


async def set_active(ctx: CommandContext, active: bool) -> int:
    """Run ``crudauth users activate`` or ``deactivate``.

    Deactivating also bumps the user's ``token_version`` and ends every session and
    token family, so the account stops at once.

    Args:
        ctx: The loaded app, the parsed arguments and the output.
        active: The new value of ``is_active``.

    Returns:
        The exit status, 0.

    Raises:
        CommandError: The model has no ``is_active`` column, or no single user
            matches.
        StoreUnavailableError: The database or a store cannot be reached.
    """
    auth, repo = ctx.auth, ctx.auth.repo
    if not repo.has("is_active"):
        raise CommandError("the user model has no is_active column")
    ended = 0
    async with database_session(auth) as db:
        user = await resolve_user(auth, db, ctx.args.user)
        user = await repo.update(db, user, {"is_active": active})
        if not active:
            # Ending sessions and bumping the epoch stops the account at once, not at
            # the next request that happens to reload the user.
            user = await repo.increment_token_version(db, user)
            ended = await _end_sessions(auth, repo.user_id(user), REASON_DEACTIVATED)
        summary = user_summary(auth, user)
    verb = "activated" if active else "deactivated"
    logger.info("operator %s user user_id=%s sessions_ended=%s", verb, summary["id"], ended)
    text = f"{verb} {_describe(summary)}"
    if not active:
        text += f"; {ended} session(s) ended"
    ctx.out.result({"user": summary, "is_active": active, "sessions_ended": ended}, text)
    return 0


async def show_user(ctx: CommandContext) -> int:
    """Run ``crudauth users show``: print a user's flags and signed-in device counts.

    ``sessions`` counts the rows of ``sessions list``, and ``browser_sessions`` and
    ``token_families`` count each kind of row. No secret is printed: only whether a
    usable password exists.

    Args:
        ctx: The loaded app, the parsed arguments and the output.

    Returns:
        The exit status, 0.

    Raises:
        CommandError: No single user matches.
        StoreUnavailableError: The database or the session store cannot be reached.
    """
    auth, repo = ctx.auth, ctx.auth.repo
    async with database_session(auth) as db:
        user = await resolve_user(auth, db, ctx.args.user)
        details: dict[str, Any] = user_summary(auth, user)
        details.update(
            is_active=repo.is_active(user),
            is_superuser=repo.is_superuser(user),
            email_verified=repo.email_verified(user),
            recovery_verified=repo.recovery_verified(user),
            token_version=repo.token_version(user),
            # Whether a usable password exists, never the hash itself.
            has_password=not is_unusable_password(repo.get(user, "hashed_password")),
            oauth_provider=repo.get(user, "oauth_provider"),
            mfa_enabled=repo.get(user, "totp_confirmed_at") is not None,
        )
    manager = auth.session_manager
    if manager is not None:
        # The rows of GET /sessions: browser sessions and token families.
        rows = await list_devices(auth.runtime, manager, details["id"])
        kinds = [row.kind for row in rows]
        details.update(
            sessions=len(rows),
            browser_sessions=kinds.count("session"),
            token_families=kinds.count("token"),
        )
    width = max(len(key) for key in details)
    ctx.out.result(details, [f"{key.ljust(width)}  {value}" for key, value in details.items()])
    return 0


async def _end_sessions(auth: Any, user_id: Any, reason: str) -> int:
    """End every browser session and token family of the user; return the count."""
    ended: int = await end_user_credentials(auth.runtime, user_id, reason=reason)
    return ended


def _validate_new_values(repo: Any, values: dict[str, Any]) -> None:
    """Apply the checks ``POST /register`` applies to the same values."""
    for field, value in values.items():
        if "\x00" in value:
            raise CommandError(f"--{field} must not contain NUL characters")
        limit = repo.exceeds_length(field, value)
        if limit is not None:
            raise CommandError(f"--{field} is longer than the column's {limit} characters")
    if "email" in values:
        try:
            TypeAdapter(EmailStr).validate_python(values["email"])
        except ValidationError:
            raise CommandError(f"--email {values['email']!r} is not a valid address") from None
    username = values.get("username")
    problem = username_problem(username) if isinstance(username, str) else None
    if problem is not None:
        # A blank, padded, invisible or mixed-script name imitates another account.
        raise CommandError(f"--username {username!r} is invalid: {problem}")


def _describe(summary: dict[str, Any]) -> str:
    name = summary.get("username") or summary.get("email")
    return f"{name} (id {summary['id']})" if name else f"id {summary['id']}"


def add_users_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``users create|set-password|deactivate|activate|show`` to ``commands``.

    Args:
        commands: The subcommand group of the top-level parser.
        common: The options every command accepts.
    """
    users = commands.add_parser("users", help="create and manage user accounts")
    actions = users.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser(
        "create",
        parents=[common],
        help="create a user; the password is prompted for, or read from stdin",
        description="Create a user. The password policy applies; the password is never "
        "taken as an argument.",
    )
    create.add_argument("--email", help="email address of the new user")
    create.add_argument("--username", help="username of the new user")
    create.add_argument("--superuser", action="store_true", help="make the user a superuser")
    create.add_argument(
        "--verified", action="store_true", help="mark the recovery factor (email) as verified"
    )
    _add_password_source(create)
    create.set_defaults(handler=create_user, needs_password=True)

    setpw = actions.add_parser(
        "set-password",
        parents=[common],
        help="set a user's password and end their sessions and bearer tokens",
    )
    setpw.add_argument("user", metavar="USER", help=USER_HELP)
    _add_password_source(setpw)
    setpw.set_defaults(handler=set_password, needs_password=True)

    deactivate = actions.add_parser(
        "deactivate", parents=[common], help="disable a user and end their sessions"
    )
    deactivate.add_argument("user", metavar="USER", help=USER_HELP)
    deactivate.set_defaults(handler=lambda ctx: set_active(ctx, False))

    activate = actions.add_parser("activate", parents=[common], help="enable a disabled user")
    activate.add_argument("user", metavar="USER", help=USER_HELP)
    activate.set_defaults(handler=lambda ctx: set_active(ctx, True))

    show = actions.add_parser(
        "show", parents=[common], help="show a user's flags and session counts (no secrets)"
    )
    show.add_argument("user", metavar="USER", help=USER_HELP)
    show.set_defaults(handler=show_user)


def _add_password_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin instead of prompting",
    )
