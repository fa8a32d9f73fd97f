"""The hardened password check shared by every password login."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from crudauth.constants import MAX_PASSWORD_LENGTH
from crudauth.exceptions import RateLimitException, UnauthorizedException
from crudauth.hooks import HookContext
from crudauth.security_log import SecurityEventType, record_security_event
from crudauth.utils._cpu_threads import run_cpu_bound
from crudauth.utils.hashing import verify_legacy_password_async
from crudauth.utils.http import get_client_ip

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.core import AuthRuntime

__all__ = ["BAD_CREDENTIALS", "LOCKED_OUT", "authenticate_password"]

logger = logging.getLogger("crudauth.security")

BAD_CREDENTIALS = "Incorrect username or password"
LOCKED_OUT = "Too many login attempts. Try again later."


async def authenticate_password(
    runtime: AuthRuntime,
    db: AsyncSession,
    identifier: str,
    password: str,
    *,
    request: Request,
    record_success: bool = True,
) -> Any:
    """Check ``identifier`` and ``password`` and return the user row.

    Every attempt is counted by the lockout before the password is looked at, and an
    unknown user, a wrong password and a disabled account cost one comparison of the
    configured scheme each and get the same 401, so neither timing nor wording reveals
    which it was. A hash stored with an older scheme, weaker settings or another pepper
    is replaced after the check succeeds. Failures fire ``on_login_failed`` and a
    locked-out attempt fires ``on_lockout``.

    Args:
        runtime: The facade's shared state.
        db: The database session.
        identifier: The login identifier as typed.
        password: The password as typed.
        request: The login request, for the client address and the hooks.
        record_success: Clear the lockout pressure now (``True``), or only take back
            this attempt because a second step must still succeed (``False``).

    Returns:
        The user row.

    Raises:
        RateLimitException: The login lockout holds (429).
        UnauthorizedException: An unknown user, a wrong password or a disabled
            account (401), with one message for all three.
        StoreUnavailableError: The lockout store is unreachable and the lockout
            fails closed.
    """
    ip = get_client_ip(request, runtime.trusted_proxy_hops)
    context = HookContext(
        ip_address=ip, user_agent=request.headers.get("user-agent"), request=request
    )
    repo = runtime.repo

    # Counting before verifying stops a guesser from learning anything past the limit.
    if runtime.lockout is not None:
        allowed, _remaining, retry_after = await runtime.lockout.check_and_record(ip, identifier)
        if not allowed:
            logger.warning("login locked out ip=%s retry_after=%s", ip, retry_after)
            await runtime.hooks.fire(
                "on_lockout", identifier, retry_after=retry_after, context=context
            )
            raise RateLimitException(LOCKED_OUT, retry_after=retry_after)

    # An oversized password is refused at the cost of one normal comparison, so a huge
    # body cannot buy extra CPU and the refusal looks like any wrong password.
    if len(password) > MAX_PASSWORD_LENGTH:
        await run_cpu_bound(runtime.passwords.dummy_verify, "x")
        await runtime.hooks.fire(
            "on_login_failed",
            identifier,
            user=None,
            reason="invalid_credentials",
            context=context,
        )
        raise UnauthorizedException(BAD_CREDENTIALS)

    user = await repo.resolve_login(db, identifier)
    stored_hash = repo.get(user, "hashed_password") if user is not None else None
    verified, new_hash = await runtime.passwords.verify_and_update_async(password, stored_hash)

    if not verified and runtime.legacy_verifiers:
        legacy_match = await verify_legacy_password_async(
            password, stored_hash, runtime.legacy_verifiers
        )
        # A legacy match for an unknown user is forced false: no existence oracle.
        if legacy_match and user is not None:
            verified = True
            new_hash = await runtime.passwords.hash_async(password)

    if user is None or not verified:
        if user is not None:
            await record_security_event(
                runtime,
                repo.user_id(user),
                SecurityEventType.SIGN_IN_FAILED,
                request=request,
                detail={"reason": "invalid_credentials"},
            )
        await runtime.hooks.fire(
            "on_login_failed",
            identifier,
            user=repo.to_dict(user) if user is not None else None,
            reason="invalid_credentials",
            context=context,
        )
        raise UnauthorizedException(BAD_CREDENTIALS)

    if not repo.is_active(user):
        logger.warning("login rejected: account disabled user_id=%s", repo.user_id(user))
        await runtime.hooks.fire(
            "on_login_failed",
            identifier,
            user=repo.to_dict(user),
            reason="inactive",
            context=context,
        )
        # The same message as a wrong password: no exists-but-disabled oracle.
        raise UnauthorizedException(BAD_CREDENTIALS)

    if new_hash is not None:
        await _store_upgraded_hash(runtime, db, user, stored_hash, new_hash)

    if runtime.lockout is not None:
        if record_success:
            await runtime.lockout.check_and_record(ip, identifier, success=True)
        else:
            await runtime.lockout.forget_attempt(ip, identifier)
    return user


async def _store_upgraded_hash(
    runtime: AuthRuntime, db: AsyncSession, user: Any, old_hash: Any, new_hash: str
) -> None:
    """Replace ``old_hash`` with ``new_hash`` unless the password changed meanwhile.

    The compare-and-set keeps a concurrent password change or reset from being
    overwritten by the hash of the password it replaced.
    """
    replaced = await runtime.repo.update_if_unchanged(
        db, user, {"hashed_password": old_hash}, {"hashed_password": new_hash}
    )
    if not replaced:
        logger.info(
            "password hash upgrade skipped: the hash changed meanwhile user_id=%s",
            runtime.repo.user_id(user),
        )
