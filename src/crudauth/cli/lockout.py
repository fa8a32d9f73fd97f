"""``crudauth lockout``: read and lift the login lockout of an IP or an identifier.

Keys are built exactly as ``LockoutPolicy`` builds them: the IP through
``client_ip_key`` (an IPv6 address becomes its /64) and the identifier through
``canonical_identifier`` (NFKC, trimmed, case-folded), under the ``login`` namespace.
"""

from __future__ import annotations

import argparse
import ipaddress
from typing import Any

from crudauth.cli.common import CommandContext, logger
from crudauth.cli.output import CommandError, format_table
from crudauth.constants import IPV6_CLIENT_PREFIX_LENGTH
from crudauth.ratelimit import MemoryRateLimiterBackend
from crudauth.ratelimit.constants import LOCKOUT_NAMESPACE
from crudauth.utils.http import client_ip_key
from crudauth.utils.identifiers import canonical_identifier

__all__ = ["add_lockout_commands", "ip_subject", "lockout_keys", "validate_lockout_args"]

# get_client_ip returns this text for a request without a client address, so the
# lockout keeps counters under it too.
UNKNOWN_CLIENT = "unknown"


def ip_subject(ip: str) -> str:
    """Return the part of a lockout key that names the client IP ``ip``.

    Args:
        ip: An IPv4 or IPv6 address, an IPv6 /64 network as ``lockout show`` prints
            it, or ``unknown``. Surrounding whitespace is ignored.

    Returns:
        The address, or the /64 network of an IPv6 address, in the form
        ``LockoutPolicy`` uses.

    Raises:
        ValueError: ``ip`` is not an accepted form.
    """
    text = ip.strip()
    if text == UNKNOWN_CLIENT:
        return text
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return client_ip_key(text)
    # Raises ValueError for text that is not a network, or that has host bits set.
    network = ipaddress.ip_network(text)
    if network.version != 6 or network.prefixlen != IPV6_CLIENT_PREFIX_LENGTH:
        raise ValueError(f"{ip!r} is a network other than an IPv6 /64")
    return str(network)


def lockout_keys(ip: str | None, identifier: str | None) -> list[tuple[str, str, str]]:
    """List every lockout key of the given subjects.

    Args:
        ip: A client IP in a form ``ip_subject`` accepts, or ``None``. An IPv6
            address covers its /64.
        identifier: A login identifier as typed, or ``None``.

    Returns:
        ``(subject, kind, key)`` tuples, where ``kind`` is ``failures``, ``lock`` or
        ``rounds``. With both subjects the failure counter of that IP and
        identifier pair is included too.

    Raises:
        ValueError: ``ip`` is not an accepted form.
    """
    subjects: list[tuple[str, str]] = []
    if ip is not None:
        subjects.append(("ip", ip_subject(ip)))
    if identifier is not None:
        subjects.append(("user", canonical_identifier(identifier)))
    keys: list[tuple[str, str, str]] = []
    for side, value in subjects:
        subject = f"{side}:{value}"
        keys.append((subject, "failures", f"{LOCKOUT_NAMESPACE}:{side}:{value}"))
        keys.append((subject, "lock", f"{LOCKOUT_NAMESPACE}:lock:{side}:{value}"))
        keys.append((subject, "rounds", f"{LOCKOUT_NAMESPACE}:rounds:{side}:{value}"))
    if len(subjects) == 2:
        pair = f"{subjects[0][1]}:{subjects[1][1]}"
        keys.append((f"pair:{pair}", "failures", f"{LOCKOUT_NAMESPACE}:pair:{pair}"))
    return keys


def validate_lockout_args(args: argparse.Namespace) -> None:
    """Check the subjects of ``lockout show`` or ``clear`` before the app loads.

    Args:
        args: The parsed command line.

    Raises:
        CommandError: With exit status 2, when neither ``--ip`` nor ``--identifier``
            was given or ``--ip`` is not an address.
    """
    if args.ip is None and args.identifier is None:
        raise CommandError("give --ip, --identifier or both", exit_code=2)
    if args.ip is None:
        return
    try:
        ip_subject(args.ip)
    except ValueError:
        raise CommandError(
            f"invalid --ip {args.ip!r}; give an IPv4 or IPv6 address such as 203.0.113.7, "
            f"an IPv6 /64 network or {UNKNOWN_CLIENT!r}",
            exit_code=2,
        ) from None


def _subjects(ctx: CommandContext) -> tuple[str | None, str | None]:
    ip, identifier = ctx.args.ip, ctx.args.identifier
    if isinstance(ctx.auth.rate_limiter, MemoryRateLimiterBackend):
        ctx.out.note(
            "lockout counters live in the server's process memory; this command sees only "
            "its own, empty counters. Configure redis_url= or database_store= to manage them"
        )
    return ip, identifier


async def show_lockout(ctx: CommandContext) -> int:
    """Run ``crudauth lockout show``: print the counters, locks and rounds.

    Args:
        ctx: The loaded app, the parsed arguments and the output.

    Returns:
        The exit status, 0.

    Raises:
        StoreUnavailableError: The counter store cannot be reached.
    """
    ip, identifier = _subjects(ctx)
    backend = ctx.auth.rate_limiter
    entries: list[dict[str, Any]] = []
    for subject, kind, key in lockout_keys(ip, identifier):
        count = await backend.get_count(key)
        ttl = await backend.get_ttl(key) if count is not None else 0
        entries.append({"subject": subject, "kind": kind, "count": count, "ttl_seconds": ttl})
    locked = any(entry["kind"] == "lock" and entry["ttl_seconds"] > 0 for entry in entries)
    table = format_table(
        ["SUBJECT", "KEY", "COUNT", "EXPIRES IN"],
        [
            (
                entry["subject"],
                entry["kind"],
                "-" if entry["count"] is None else entry["count"],
                f"{entry['ttl_seconds']} s" if entry["count"] is not None else "-",
            )
            for entry in entries
        ],
    )
    status = "locked" if locked else "not locked"
    ctx.out.result({"locked": locked, "keys": entries}, [*table, f"status: {status}"])
    return 0


async def clear_lockout(ctx: CommandContext) -> int:
    """Run ``crudauth lockout clear``: delete the counters, locks and rounds.

    Args:
        ctx: The loaded app, the parsed arguments and the output.

    Returns:
        The exit status, 0.

    Raises:
        StoreUnavailableError: The counter store cannot be reached.
    """
    ip, identifier = _subjects(ctx)
    backend = ctx.auth.rate_limiter
    cleared: list[dict[str, str]] = []
    for subject, kind, key in lockout_keys(ip, identifier):
        if await backend.delete(key):
            cleared.append({"subject": subject, "kind": kind})
    logger.info("operator cleared login lockout keys=%s", len(cleared))
    names = ", ".join(f"{entry['subject']} {entry['kind']}" for entry in cleared)
    text = f"cleared {len(cleared)} lockout key(s)" + (f": {names}" if names else "")
    ctx.out.result({"cleared": cleared}, text)
    return 0


def add_lockout_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``lockout show|clear`` to ``commands``.

    Args:
        commands: The subcommand group of the top-level parser.
        common: The options every command accepts.
    """
    lockout = commands.add_parser("lockout", help="show or lift the login lockout")
    actions = lockout.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, handler, text in (
        ("show", show_lockout, "show failure counts, locks and escalation rounds"),
        ("clear", clear_lockout, "delete the failure counters, locks and rounds"),
    ):
        parser = actions.add_parser(name, parents=[common], help=text)
        parser.add_argument(
            "--ip",
            help="client IP address (an IPv6 address covers its /64, which may also be "
            f"given), or '{UNKNOWN_CLIENT}' for requests without a client address",
        )
        parser.add_argument(
            "--identifier", help="login identifier as typed (email or username; case-folded)"
        )
        parser.set_defaults(handler=handler, validate_args=validate_lockout_args)
