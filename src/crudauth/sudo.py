"""Sudo mode: a short-lived "still at the keyboard" proof stamped on a server session.

The user re-enters their password (or an authenticator code) and the session record
gets an absolute expiry in its metadata; ``auth.require_sudo()`` guards sensitive
routes with it. The stamp dies with the session.
"""

# No postponed annotations here: FastAPI must see the real dependency signature.

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from fastapi import Depends
from starlette.requests import Request

from crudauth.exceptions import ForbiddenException, SudoLockoutError, UnauthorizedException
from crudauth.hooks import AuthHooks, HookContext
from crudauth.principal import Principal
from crudauth.ratelimit.constants import SUDO_NAMESPACE
from crudauth.utils.hashing import DEFAULT_PASSWORD_HASHING
from crudauth.utils.password_hashing import PasswordHashing

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.ratelimit import RateLimiterBackend
    from crudauth.repository import UserRepository
    from crudauth.transports.session import SessionManager
    from crudauth.transports.session.schemas import SessionData

__all__ = ["SudoConfig", "SudoManager"]

logger = logging.getLogger("crudauth.security")

SUDO_ELEVATED_UNTIL = "sudo_elevated_until"
SESSION_REQUIRED = "Sudo requires a session-backed login."
SESSION_GONE = "Session no longer exists."
INCORRECT_PASSWORD = "Incorrect password"
INVALID_CODE = "Invalid code"
TOO_MANY_ATTEMPTS = "Too many attempts. Try again later."
REAUTHENTICATION_REQUIRED = "Re-authentication required."

Dependency = Callable[..., Coroutine[Any, Any, Any]]


@dataclass(frozen=True)
class SudoConfig:
    """Sudo window and lockout tuning.

    Attributes:
        window_seconds: Lifetime of an elevation, and of the failed-attempt counter.
        max_attempts: Wrong attempts within the window that trip the sudo lockout.
        lockout_seconds: Duration of the sudo lockout.

    Example:
        ```python
        auth = CRUDAuth(..., sudo=SudoConfig(window_seconds=600))

        @app.delete("/account", dependencies=[Depends(auth.require_sudo())])
        async def delete_account(): ...
        ```
    """

    window_seconds: int = 300
    max_attempts: int = 3
    lockout_seconds: int = 900


class SudoManager:
    """Elevate a session after a password or code check, and report elevation.

    The lockout counters live in the rate-limiter ``backend`` under their own
    ``sudo:`` keys, per user, so a sudo lockout never touches the login lockout.
    ``CRUDAuth`` builds one from ``sudo=`` and exposes it as ``auth.sudo``.

    Args:
        session_manager: Stores the elevation stamp on the session record.
        repo: The user repository.
        backend: The counter backend; ``None`` turns the sudo lockout off.
        hooks: The app's hooks, for ``on_after_sudo``.
        config: Window and lockout tuning.
        mfa: The MFA service, needed to elevate with an authenticator code.
        passwords: The configured hasher; defaults to bcrypt without a pepper.
    """

    def __init__(
        self,
        *,
        session_manager: "SessionManager",
        repo: "UserRepository",
        backend: "RateLimiterBackend | None",
        hooks: AuthHooks,
        config: SudoConfig,
        mfa: Any = None,
        passwords: PasswordHashing | None = None,
    ) -> None:
        self.session_manager = session_manager
        self.passwords = passwords or DEFAULT_PASSWORD_HASHING
        self.repo = repo
        self.backend = backend
        self.hooks = hooks
        self.config = config
        self.mfa = mfa

    def _now(self) -> datetime:
        """Return the current UTC time; tests override this to move the clock."""
        return datetime.now(timezone.utc)

    @staticmethod
    def _session_id(principal: Principal) -> str | None:
        session_id = principal.metadata.get("session_id")
        if principal.transport != "session" or not isinstance(session_id, str) or not session_id:
            return None
        return session_id

    async def elevate(
        self,
        principal: Principal,
        password: str | None = None,
        *,
        code: str | None = None,
        db: "AsyncSession | None" = None,
        request: Request | None = None,
    ) -> datetime:
        """Check a password or authenticator code, stamp the session, return the expiry.

        Recovery codes are never accepted here. Fires ``on_after_sudo`` on success.

        Args:
            principal: The caller, authenticated through the session transport.
            password: The current password.
            code: An authenticator code, instead of the password.
            db: The database session; required with ``code``.
            request: The request, for the hook's context.

        Returns:
            When the elevation ends, in UTC.

        Raises:
            ValueError: Not exactly one of ``password`` and ``code`` is given, or a
                code is given without MFA configured or without ``db``.
            ForbiddenException: The principal is not session-backed or its session is
                gone (403).
            UnauthorizedException: The password or code is wrong (401).
            SudoLockoutError: The sudo lockout holds or this attempt trips it (429
                with ``Retry-After``).

        Example:
            ```python
            until = await auth.sudo.elevate(principal, body.password, request=request)
            ```
        """
        if (password is None) == (code is None):
            raise ValueError("elevate() needs exactly one of password= or code=")
        if code is not None and (self.mfa is None or db is None):
            raise ValueError("elevate(code=...) needs CRUDAuth(mfa=...) and db=")
        session_id = self._session_id(principal)
        # The password or code is checked against the database's row, not a cached one.
        user = await self.repo.reload_if_cached(db, principal.user)
        if session_id is None or user is None:
            raise ForbiddenException(SESSION_REQUIRED)

        user_id = self.repo.user_id(user)
        count = await self._count_attempt(user_id)
        if count > self.config.max_attempts:
            await self._lock(user_id, session_id)

        if password is not None:
            stored = self.repo.get(user, "hashed_password")
            verified = await self.passwords.verify_async(password, stored)
        else:
            verified = await self.mfa.verify_totp(db, user, code)
        if not verified:
            logger.warning("sudo check failed user_id=%s attempt=%s", user_id, count)
            if count >= self.config.max_attempts:
                await self._lock(user_id, session_id)
            raise UnauthorizedException(INCORRECT_PASSWORD if code is None else INVALID_CODE)

        return await self._stamp(principal, user, session_id, request)

    async def _count_attempt(self, user_id: Any) -> int:
        """Count the attempt before checking it, so concurrent guesses share the cap."""
        if self.backend is None:
            return 0
        lock_key = f"{SUDO_NAMESPACE}:lock:{user_id}"
        remaining = await self.backend.get_ttl(lock_key)
        if remaining > 0:
            raise SudoLockoutError(TOO_MANY_ATTEMPTS, retry_after=remaining)
        fail_key = f"{SUDO_NAMESPACE}:fail:{user_id}"
        return await self.backend.increment(fail_key, 1, self.config.window_seconds)

    async def _lock(self, user_id: Any, session_id: str) -> None:
        """Trip the sudo lockout, drop this session's elevation and raise 429."""
        if self.backend is not None:
            lock_key = f"{SUDO_NAMESPACE}:lock:{user_id}"
            await self.backend.increment(lock_key, 1, self.config.lockout_seconds)
            await self.backend.delete(f"{SUDO_NAMESPACE}:fail:{user_id}")
        await self.session_manager.modify_session(session_id, _drop_stamp)
        logger.warning("sudo locked out user_id=%s for %s s", user_id, self.config.lockout_seconds)
        raise SudoLockoutError(TOO_MANY_ATTEMPTS, retry_after=self.config.lockout_seconds)

    async def _stamp(
        self, principal: Principal, user: Any, session_id: str, request: Request | None
    ) -> datetime:
        user_id = self.repo.user_id(user)
        if self.backend is not None:
            await self.backend.delete(f"{SUDO_NAMESPACE}:fail:{user_id}")
        until = self._now() + timedelta(seconds=self.config.window_seconds)
        stamp = until.isoformat()

        def write_stamp(stored: "SessionData") -> None:
            stored.metadata[SUDO_ELEVATED_UNTIL] = stamp

        # A compare-and-set that keeps the session's expiry where it was.
        if await self.session_manager.modify_session(session_id, write_stamp) is None:
            raise ForbiddenException(SESSION_GONE)
        context = HookContext(transport="session", request=request)
        await self.hooks.fire(
            "on_after_sudo", self.repo.to_dict(user), request=request, context=context
        )
        return until

    async def is_elevated(self, principal: Principal) -> bool:
        """Return whether the principal's live session holds an unexpired elevation.

        Args:
            principal: The caller; principals of other transports are never elevated.
        """
        session_id = self._session_id(principal)
        if session_id is None:
            return False
        record = await self.session_manager.get_session(session_id)
        if record is None:
            return False
        stamp = record.metadata.get(SUDO_ELEVATED_UNTIL)
        if not isinstance(stamp, str):
            return False
        try:
            until = datetime.fromisoformat(stamp)
        except ValueError:
            return False
        if until.tzinfo is None:
            return False
        return self._now() < until


def _drop_stamp(stored: "SessionData") -> None:
    stored.metadata.pop(SUDO_ELEVATED_UNTIL, None)


def build_sudo_manager(
    config: SudoConfig | None,
    *,
    session_manager: "SessionManager | None",
    repo: "UserRepository",
    backend: "RateLimiterBackend | None",
    hooks: AuthHooks,
    mfa: Any = None,
    passwords: PasswordHashing | None = None,
) -> SudoManager | None:
    """Return the manager for ``CRUDAuth(sudo=config)``, or ``None`` without config.

    Args:
        config: The ``sudo=`` setting, or ``None``.
        session_manager: The session transport's manager, or ``None``.
        repo: The user repository.
        backend: The counter backend.
        hooks: The app's hooks.
        mfa: The MFA service, if configured.
        passwords: The configured hasher.

    Raises:
        ValueError: ``config`` is not a ``SudoConfig``, or there is no session
            transport, because the stamp lives on a server-side session.
    """
    if config is None:
        return None
    if not isinstance(config, SudoConfig):
        raise ValueError(f"sudo= must be a SudoConfig, got {type(config).__name__}")
    if session_manager is None:
        raise ValueError(
            "sudo= needs a SessionTransport: the elevation is stamped on a server-side "
            "session; add SessionTransport() to transports="
        )
    return SudoManager(
        session_manager=session_manager,
        repo=repo,
        backend=backend,
        hooks=hooks,
        config=config,
        mfa=mfa,
        passwords=passwords,
    )


def build_require_sudo(current_user: Dependency, manager: SudoManager) -> Dependency:
    """Return a dependency that authenticates like ``current_user`` and needs sudo.

    Args:
        current_user: The dependency that authenticates the caller.
        manager: The sudo manager that reads the elevation.

    Returns:
        An async FastAPI dependency returning the ``Principal``. It raises
        ``ForbiddenException`` (403) when the session is not elevated.
    """

    async def require_sudo(principal: Principal = Depends(current_user)) -> Principal:
        if not await manager.is_elevated(principal):
            raise ForbiddenException(REAUTHENTICATION_REQUIRED)
        return principal

    return require_sudo
