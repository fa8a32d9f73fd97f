"""``crudauth check``: find development settings that are unsafe in production.

Each finding has an id, the problem and the fix; any finding makes the exit status 1.
Features other modules add (recovery email, OAuth, MFA) are read with ``getattr``, so
the check works whichever of them the app has.
"""

from __future__ import annotations

import argparse
import hmac
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from crudauth.cli.common import CommandContext
from crudauth.cli.loader import reload_auth
from crudauth.crud_auth import CRUDAuth

__all__ = ["CHECK_IDS", "Finding", "add_check_command", "run_checks"]

MIN_SECRET_KEY_BYTES = 32
# Fewer distinct characters than this means a pattern ("aaaa...", "abcabc..."), not
# random bytes: 32 random URL-safe characters have about 25 distinct ones.
MIN_SECRET_KEY_DISTINCT_CHARACTERS = 10
PLACEHOLDER_WORDS = frozenset(
    {
        "change",
        "changeme",
        "default",
        "dev",
        "development",
        "demo",
        "dummy",
        "example",
        "insecure",
        "password",
        "placeholder",
        "replace",
        "secret",
        "test",
        "todo",
        "xxx",
    }
)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
WORKERS_ENV_VAR = "WEB_CONCURRENCY"

CHECK_IDS = (
    "secret-key-short",
    "secret-key-placeholder",
    "secret-key-per-start",
    "insecure-cookies",
    "memory-stores",
    "proxy-hops",
    "lifespan-initialize",
    "plain-http-url",
    "email-sender-missing",
    "mfa-key-reused",
    "mfa-key-per-start",
)


@dataclass(frozen=True)
class Finding:
    """One problem of the deployment and how to fix it.

    Attributes:
        id: The check's id, one of ``CHECK_IDS``, as accepted by ``--skip``.
        problem: What is wrong.
        fix: What to change.
    """

    id: str
    problem: str
    fix: str


def _secret_key_findings(auth: CRUDAuth) -> Iterator[Finding]:
    key = auth.runtime.secret_key
    if len(key.encode()) < MIN_SECRET_KEY_BYTES:
        yield Finding(
            "secret-key-short",
            f"SECRET_KEY is {len(key.encode())} bytes; anything under "
            f"{MIN_SECRET_KEY_BYTES} can be guessed offline from one signed token",
            "generate one with python -c 'import secrets; print(secrets.token_urlsafe(48))' "
            "and load it from the environment",
        )
    words = {word.lower() for word in re.split(r"[^A-Za-z]+", key) if word}
    placeholder = sorted(words & PLACEHOLDER_WORDS)
    if placeholder or len(set(key)) < MIN_SECRET_KEY_DISTINCT_CHARACTERS:
        # The words found are not printed: they are part of the key.
        reason = "contains a placeholder word" if placeholder else "repeats a few characters"
        yield Finding(
            "secret-key-placeholder",
            f"SECRET_KEY looks like a placeholder (it {reason}), not random bytes",
            "replace it with a random value such as secrets.token_urlsafe(48), kept out "
            "of the code",
        )


def _mfa_keys(auth: CRUDAuth) -> list[str]:
    mfa = getattr(auth, "mfa", None)
    for holder in (getattr(mfa, "config", None), mfa):
        keys = getattr(holder, "encryption_keys", None)
        if isinstance(keys, list):
            return [str(key) for key in keys]
    return []


def _same_secrets(first: list[str], second: list[str]) -> bool:
    # compare_digest keeps comparisons of secrets constant-time.
    joined_first = "\n".join(first).encode()
    return hmac.compare_digest(joined_first, "\n".join(second).encode())


def _per_start_findings(auth: CRUDAuth, loaded: Any) -> Iterator[Finding]:
    copy = reload_auth(loaded)
    if copy is None:
        return
    if not _same_secrets([copy.runtime.secret_key], [auth.runtime.secret_key]):
        yield Finding(
            "secret-key-per-start",
            "SECRET_KEY changes every time the app starts (loading the module twice "
            "gave two keys): each restart signs everyone out and workers reject each "
            "other's sessions and tokens",
            "read the key from the environment, e.g. SECRET_KEY=os.environ['CRUDAUTH_SECRET_KEY']",
        )
    if not _same_secrets(_mfa_keys(copy), _mfa_keys(auth)):
        yield Finding(
            "mfa-key-per-start",
            "the MFA encryption key changes every time the app starts (loading the "
            "module twice gave two keys), so TOTP secrets enrolled before a restart "
            "can no longer be decrypted",
            "read MfaConfig(encryption_key=...) from the environment, e.g. "
            "os.environ['CRUDAUTH_MFA_KEY']",
        )


def _cookie_findings(auth: CRUDAuth) -> Iterator[Finding]:
    for transport in auth.transports:
        if not transport.sets_cookies:
            continue
        if not transport.cookie_config().secure:
            yield Finding(
                "insecure-cookies",
                f"the {transport.name} transport sets cookies without Secure, so browsers "
                "send them over plain http where anyone on the path can read them",
                "drop CookieConfig(secure=False) and serve the app over HTTPS",
            )


def _memory_findings(auth: CRUDAuth, workers: int) -> Iterator[Finding]:
    memory_parts: list[str] = getattr(auth, "_memory_parts", list)()
    if not memory_parts:
        return
    parts = ", ".join(memory_parts)
    if workers > 1:
        problem = (
            f"{workers} workers are expected but these parts live in process memory: "
            f"{parts}; each worker gets its own sessions and lockout counters"
        )
    else:
        problem = (
            f"these parts live in process memory: {parts}; every restart loses them and "
            "a second worker or instance would not share them"
        )
    yield Finding(
        "memory-stores",
        problem,
        "pass CRUDAuth(redis_url=...) (Redis 7+) or database_store=DatabaseStore(engine)",
    )


def _proxy_findings(auth: CRUDAuth, behind_proxy: bool) -> Iterator[Finding]:
    if behind_proxy and auth.runtime.trusted_proxy_hops == 0:
        yield Finding(
            "proxy-hops",
            "the app runs behind a proxy but trusted_proxy_hops is 0, so every per-IP "
            "limit and lockout counts the proxy's address for all clients",
            "set CRUDAuth(trusted_proxy_hops=N) to the number of proxies you control",
        )


def _lifespan_findings(ctx: CommandContext) -> Iterator[Finding]:
    if ctx.loaded.lifespan_called_initialize is False:
        yield Finding(
            "lifespan-initialize",
            "the app's lifespan never calls auth.initialize(), so Redis and database "
            "stores are not checked or opened at start-up and shutdown never closes them",
            "await auth.initialize() before the lifespan yields and auth.shutdown() after",
        )


def _is_plain_http(url: Any) -> bool:
    if not isinstance(url, str) or not url:
        return False
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") not in LOCAL_HOSTS


def _url_findings(auth: CRUDAuth) -> Iterator[Finding]:
    urls: list[tuple[str, Any]] = [("redirect_base_url", auth.runtime.redirect_base_url)]
    providers = getattr(auth, "oauth_providers", None) or {}
    for name, provider in dict(providers).items():
        urls.append(
            (f"OAuth provider {name} redirect_uri", getattr(provider, "redirect_uri", None))
        )
    config = _email_config(auth)
    urls.append(("EmailConfig.frontend_url", getattr(config, "frontend_url", None)))
    for label, url in urls:
        if _is_plain_http(url):
            yield Finding(
                "plain-http-url",
                f"{label} is {url!r}: OAuth codes and recovery links sent there travel "
                "over plain http",
                "use an https:// URL (plain http is fine only for localhost)",
            )


def _email_config(auth: CRUDAuth) -> Any:
    service = getattr(auth, "emails", None)
    for candidate in (getattr(service, "config", None), getattr(auth, "email_config", None)):
        if candidate is not None:
            return candidate
    return None


def _email_findings(auth: CRUDAuth) -> Iterator[Finding]:
    service = getattr(auth, "emails", None)
    if service is None or auth.identity.recovery != "email":
        return
    channels = list(getattr(service, "channels", None) or [])
    sends_email = any(getattr(channel, "sends_email", False) for channel in channels)
    sender = getattr(_email_config(auth), "sender", None)
    if not sends_email and sender is None:
        yield Finding(
            "email-sender-missing",
            "account recovery is on with email as the recovery factor, but no email "
            "sender is configured, so verification and reset messages go nowhere",
            "pass CRUDAuth(email=EmailConfig(sender=YourSender(), frontend_url=...))",
        )


def _mfa_findings(auth: CRUDAuth) -> Iterator[Finding]:
    secret = auth.runtime.secret_key
    if any(_same_secrets([key], [secret]) for key in _mfa_keys(auth)):
        yield Finding(
            "mfa-key-reused",
            "the MFA encryption key equals SECRET_KEY, so one leaked value exposes "
            "both the TOTP secrets and every signed token",
            "generate a separate Fernet key for MfaConfig(encryption_key=...)",
        )


def run_checks(ctx: CommandContext) -> list[Finding]:
    """Run every check on the loaded app and return the findings not skipped.

    Args:
        ctx: The loaded app, the parsed arguments and the output.

    Returns:
        The findings whose id is not in ``--skip``.
    """
    args, auth = ctx.args, ctx.auth
    workers = args.workers if args.workers is not None else _workers_from_environment()
    findings = [
        *_secret_key_findings(auth),
        *(() if args.no_reload else _per_start_findings(auth, ctx.loaded)),
        *_cookie_findings(auth),
        *_memory_findings(auth, workers),
        *_proxy_findings(auth, args.behind_proxy),
        *_lifespan_findings(ctx),
        *_url_findings(auth),
        *_email_findings(auth),
        *_mfa_findings(auth),
    ]
    skipped = set(args.skip or ())
    return [finding for finding in findings if finding.id not in skipped]


def _workers_from_environment() -> int:
    try:
        return int(os.environ.get(WORKERS_ENV_VAR, "1"))
    except ValueError:
        return 1


async def check_deployment(ctx: CommandContext) -> int:
    """Run ``crudauth check``: print each finding with its fix.

    Args:
        ctx: The loaded app, the parsed arguments and the output.

    Returns:
        The exit status: 1 when any finding remains, else 0.
    """
    findings = run_checks(ctx)
    lines: list[str] = []
    if ctx.loaded.asgi_app is None:
        ctx.out.note(
            "no ASGI app with a lifespan was found beside the auth object, so the lifespan "
            "wiring was not checked; name it with --asgi-app"
        )
    for finding in findings:
        lines.append(f"[{finding.id}] {finding.problem}")
        lines.append(f"    fix: {finding.fix}")
    summary = f"{len(findings)} problem(s) found" if findings else "no problems found"
    lines.append(summary)
    ctx.out.result(
        {"ok": not findings, "problems": [asdict(finding) for finding in findings]}, lines
    )
    return 1 if findings else 0


def add_check_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``check`` to ``commands``.

    Args:
        commands: The subcommand group of the top-level parser.
        common: The options every command accepts.
    """
    check = commands.add_parser(
        "check",
        parents=[common],
        help="report settings that are unsafe in production (exit 1 on any problem)",
        description="Check the deployment: secret key, cookies, shared stores, proxy hops, "
        "lifespan wiring, plain-http URLs, the email sender and the MFA key. Each problem "
        "is printed with its fix; the exit status is 1 when any is found.",
    )
    check.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"number of worker processes to expect (default: ${WORKERS_ENV_VAR}, else 1)",
    )
    check.add_argument(
        "--behind-proxy",
        action="store_true",
        help="the app is served behind a reverse proxy that sets X-Forwarded-For",
    )
    check.add_argument(
        "--skip",
        action="append",
        choices=CHECK_IDS,
        metavar="ID",
        help=f"silence one check; repeatable. IDs: {', '.join(CHECK_IDS)}",
    )
    check.add_argument(
        "--no-reload",
        action="store_true",
        help="do not load the module a second time to see whether SECRET_KEY or the MFA key "
        "changes",
    )
    check.set_defaults(handler=check_deployment)
