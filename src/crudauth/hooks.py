"""Lifecycle callbacks and the best-effort runner that calls them."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["AuthHooks", "HookContext"]

logger = logging.getLogger("crudauth.hooks")

Hook = Callable[..., "Awaitable[Any] | Any"]


@dataclass
class HookContext:
    """Ambient request data handed to hooks as ``context=``.

    Attributes:
        ip_address: Client address, honouring ``trusted_proxy_hops``.
        user_agent: The request's ``User-Agent`` header.
        transport: Name of the transport involved, when there is one.
        request: The request itself.
        extra: Feature-specific additions.
        session_handle: Public handle of the session created or ended (the value
            ``GET /sessions`` lists), never the session id itself.
    """

    ip_address: str | None = None
    user_agent: str | None = None
    transport: str | None = None
    request: Request | None = None
    extra: dict[str, Any] | None = None
    session_handle: str | None = None


@dataclass
class AuthHooks:
    """Optional callbacks, sync or async, fired after an operation has completed.

    Hooks cannot veto anything: an exception raised by a hook is logged on the
    ``crudauth.hooks`` logger and the request completes normally. User rows are passed
    as dictionaries of logical fields. Each attribute below shows the hook's call.

    Attributes:
        on_after_register: ``(user, *, db, context)`` after an account is created.
        on_oauth_login: ``(user, info, *, db, context, created)`` after an OAuth
            callback resolved the account, before the session is created.
        on_login_failed: ``(identifier, *, user, reason, context)`` after a failed
            password check; ``reason`` is ``"invalid_credentials"`` or ``"inactive"``.
        on_lockout: ``(identifier, *, retry_after, context)`` when a login attempt
            hits the lockout.
        on_after_login: ``(user, *, request, context)`` after a credential is issued.
        on_after_logout: ``(user, *, request, context)`` after a live session ends.
        on_after_recovery_verified: ``(user, *, db, context)`` after a verification
            link is confirmed.
        on_after_password_reset: ``(user, *, db, context)`` after a reset sets a new
            password.
        on_after_password_changed: ``(user, *, db, context)`` after a password change.
        on_after_email_changed: ``(user, *, db, context)`` after an email change.
        on_after_sudo: ``(user, *, request, context)`` after a sudo elevation.
        on_after_mfa_enabled: ``(user, *, db, context)`` after MFA enrolment.
        on_after_mfa_disabled: ``(user, *, db, context)`` after MFA is turned off.
        on_after_recovery_code_used: ``(user, *, db, context)`` after a recovery code
            is consumed.
        on_security_event: ``(user_id, event, *, context)`` after an event is written
            to the security log; ``event`` is its JSON form.
        on_new_device_sign_in: ``(user, *, device, ip_address, context)`` after a
            sign-in from a device the account has not used before.
        on_refresh_token_reuse: ``(user, *, family_handle, context)`` after a used
            refresh token is presented again and its family is ended.

    Example:
        ```python
        async def audit(user, *, request, context):
            logger.info("login user_id=%s ip=%s", user["id"], context.ip_address)

        auth = CRUDAuth(..., hooks=AuthHooks(on_after_login=audit))
        ```
    """

    on_after_register: Hook | None = None
    on_oauth_login: Hook | None = None
    on_login_failed: Hook | None = None
    on_lockout: Hook | None = None
    on_after_login: Hook | None = None
    on_after_logout: Hook | None = None
    on_after_recovery_verified: Hook | None = None
    on_after_password_reset: Hook | None = None
    on_after_password_changed: Hook | None = None
    on_after_email_changed: Hook | None = None
    on_after_sudo: Hook | None = None
    on_after_mfa_enabled: Hook | None = None
    on_after_mfa_disabled: Hook | None = None
    on_after_recovery_code_used: Hook | None = None
    on_security_event: Hook | None = None
    on_new_device_sign_in: Hook | None = None
    on_refresh_token_reuse: Hook | None = None

    async def fire(self, name: str, *args: Any, **kwargs: Any) -> bool:
        """Call the hook ``name`` if set; return ``False`` when it raised.

        Exceptions are logged with their traceback and swallowed, so a broken hook never
        fails the request that triggered it.

        Args:
            name: Field name of the hook, such as ``"on_after_login"``.
            *args: Positional arguments for the hook.
            **kwargs: Keyword arguments for the hook.

        Raises:
            AttributeError: ``name`` is not a hook of this class.
        """
        if name not in _HOOK_NAMES:
            raise AttributeError(f"AuthHooks has no hook named {name!r}")
        callback = getattr(self, name)
        if callback is None:
            return True
        try:
            result = callback(*args, **kwargs)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("Hook %s raised; the request continues", name)
            return False
        return True


_HOOK_NAMES = frozenset(f.name for f in fields(AuthHooks))
