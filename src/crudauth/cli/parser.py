"""The ``crudauth`` command line: parse, load the app, run a command, return its status.

Exit status: 0 on success, 1 when a command or a check fails, 2 for bad usage
(unknown options, missing arguments, invalid values such as text that is not valid
UTF-8, an ``--auth`` that names no ``CRUDAuth``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import Any

from crudauth.cli.arguments import reject_non_utf8_arguments
from crudauth.cli.check import add_check_command
from crudauth.cli.common import CommandContext
from crudauth.cli.loader import (
    APP_ENV_VAR,
    AppLoadError,
    UsageError,
    load_app,
    running_app,
)
from crudauth.cli.lockout import add_lockout_commands
from crudauth.cli.output import CommandError, Output
from crudauth.cli.sessions import add_sessions_commands
from crudauth.cli.store import add_store_commands
from crudauth.cli.users import add_users_commands, read_password
from crudauth.exceptions import StoreUnavailableError

__all__ = ["build_parser", "main"]

PROGRAM = "crudauth"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _common_options(*, suppress: bool) -> argparse.ArgumentParser:
    """Return the options every command accepts, before or after the command name.

    The copy given to subcommands has ``SUPPRESS`` defaults, so a value given before
    the command name is not overwritten by the subcommand's default.
    """
    default: Any = argparse.SUPPRESS if suppress else None
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--auth",
        metavar="MODULE:ATTR",
        default=default,
        help=f"import path of the app's CRUDAuth object (default: ${APP_ENV_VAR})",
    )
    common.add_argument(
        "--app-dir",
        metavar="DIR",
        default=default,
        help="directory put first on sys.path before importing (default: the current one)",
    )
    common.add_argument(
        "--asgi-app",
        metavar="ATTR",
        default=default,
        help="attribute of the same module holding the ASGI app whose lifespan runs around "
        "the command (default: app)",
    )
    common.add_argument(
        "--no-lifespan",
        action="store_true",
        default=default if suppress else False,
        help="skip the app's lifespan and only call auth.initialize() and auth.shutdown()",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=default if suppress else False,
        help="print the result as JSON",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """Build the ``crudauth`` argument parser with every command.

    The common options (``--auth``, ``--app-dir``, ``--asgi-app``, ``--no-lifespan``,
    ``--json``) are accepted before or after the command name. Each command sets a
    ``handler`` default that ``main`` awaits. A command may also set a
    ``validate_args`` default, which ``main`` calls with the parsed arguments before
    the app loads and which raises ``CommandError`` on bad usage.

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        parents=[_common_options(suppress=False)],
        description="Operator commands for a crudauth app: manage users, sessions and "
        "lockouts, purge expired state and check a deployment. The app is loaded from "
        "--auth (like uvicorn's app argument) and runs inside its lifespan.",
        epilog="example: crudauth --auth myapp.main:auth users show alice@example.com",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _common_options(suppress=True)
    add_users_commands(commands, common)
    add_sessions_commands(commands, common)
    add_lockout_commands(commands, common)
    add_store_commands(commands, common)
    add_check_command(commands, common)
    return parser


async def _run(args: argparse.Namespace, out: Output) -> int:
    loaded = load_app(args.auth, app_dir=args.app_dir, asgi_attribute=args.asgi_app)
    async with running_app(loaded, use_lifespan=not args.no_lifespan) as auth:
        for note in loaded.notes:
            out.note(note)
        ctx = CommandContext(auth=auth, loaded=loaded, args=args, out=out)
        exit_code: int = await args.handler(ctx)
    return exit_code


def _configure_logging() -> None:
    # Warnings of crudauth (e.g. the in-memory backend warning) reach stderr; an app
    # that configured logging itself keeps its own handlers.
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crudauth`` command line and return its exit status.

    Expected failures are printed instead of raised. A usage error gives 2. A failed
    command, an app that cannot be imported or an unreachable store gives 1, and an
    interrupt gives 130.

    Args:
        argv: The arguments after the program name; ``None`` reads ``sys.argv``.

    Returns:
        The exit status.

    Example:
        ```python
        status = main(["--auth", "myapp.main:auth", "--json", "users", "show", "alice"])
        ```
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse exits 0 after --help and 2 on a usage error.
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    out = Output(as_json=args.json)
    _configure_logging()
    try:
        # These usage checks run before the password prompt and before the app loads.
        reject_non_utf8_arguments(parser, args)
        validate_args = getattr(args, "validate_args", None)
        if validate_args is not None:
            validate_args(args)
        if getattr(args, "needs_password", False):
            args.password = read_password(args.password_stdin)
        return asyncio.run(_run(args, out))
    except UsageError as exc:
        out.error(str(exc))
        return EXIT_USAGE
    except CommandError as exc:
        out.error(exc.message)
        return exc.exit_code
    except (AppLoadError, StoreUnavailableError) as exc:
        out.error(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        out.error("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover - run through crudauth.__main__
    sys.exit(main())
