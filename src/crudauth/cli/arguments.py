"""Checks on the parsed command line that run before the app is loaded."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from crudauth.cli.output import CommandError
from crudauth.utils.validation_errors import is_utf8_encodable

__all__ = ["reject_non_utf8_arguments"]

# Python decodes each argument byte that is not UTF-8 to one of these lone surrogates
# (the surrogateescape error handler): the byte 0xNN becomes U+DCNN.
_ESCAPED_BYTES = range(0xDC80, 0xDD00)
# A directory name may be any bytes, and Python opens a path decoded this way as the
# original bytes, so --app-dir is exempt.
_PATH_DESTINATIONS = frozenset({"app_dir"})


def _chosen_actions(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> Iterator[argparse.Action]:
    """Yield the arguments of ``parser`` and of each subcommand that ``args`` chose."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            if chosen is not None:
                yield from _chosen_actions(chosen, args)
        else:
            yield action


def _argument_name(action: argparse.Action) -> str:
    if action.option_strings:
        return "/".join(action.option_strings)
    return action.metavar if isinstance(action.metavar, str) else action.dest


def _quote(value: str) -> str:
    """Quote ``value`` for a message, with each byte that is not UTF-8 as ``\\xNN``."""
    pieces = []
    for char in value:
        if ord(char) in _ESCAPED_BYTES:
            pieces.append(f"\\x{ord(char) - 0xDC00:02x}")
        else:
            pieces.append(repr(char)[1:-1])
    return "'" + "".join(pieces) + "'"


def reject_non_utf8_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject any parsed text argument, except ``--app-dir``, that is not valid UTF-8.

    Such text cannot be sent to a database or a store, so it is bad usage. This check
    runs before the app is loaded.

    Args:
        parser: The top-level parser that produced ``args``.
        args: The parsed command line.

    Raises:
        CommandError: With exit status 2, naming the first such argument.
    """
    for action in _chosen_actions(parser, args):
        if action.dest in _PATH_DESTINATIONS:
            continue
        value = getattr(args, action.dest, None)
        values = value if isinstance(value, list) else [value]
        for text in values:
            if isinstance(text, str) and not is_utf8_encodable(text):
                raise CommandError(
                    f"argument {_argument_name(action)} {_quote(text)} is not valid UTF-8; "
                    "pass the value as UTF-8 text",
                    exit_code=2,
                )
