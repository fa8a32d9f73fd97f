"""One revocation model: end a user's browser sessions and token families together.

Every security event that signs a user out (logout-all, a password change or reset,
an OAuth claim of an existing account, an operator command) calls
``end_user_credentials``, so no event can end browser sessions and forget the app and
script tokens of the same user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crudauth.security_log import (
    SecurityEventType,
    SecurityLog,
    SecurityLogConfig,
    record_security_event,
    retention_seconds,
)
from crudauth.transports.bearer import BearerTransport
from crudauth.transports.session import SessionTransport

if TYPE_CHECKING:
    from starlette.requests import Request

    from crudauth.core import AuthRuntime
    from crudauth.crud_auth import CRUDAuth

__all__ = ["build_credential_tracking", "end_user_credentials", "token_families_of"]

MEMORY_FAMILY_STORE = "token-family store"
MEMORY_SECURITY_LOG = "security log"
# Handles kept in one security-log event about ended sessions or token families.
MAX_LOGGED_HANDLES = 50


def build_credential_tracking(auth: CRUDAuth, config: SecurityLogConfig | None) -> SecurityLog:
    """Give each bearer transport its family store and build the security log.

    Stateful bearer transports get a family store whose TTL is their refresh-token
    lifetime. Session managers get a listener that writes ended sessions to the log.

    Args:
        auth: The facade, for its transports and auxiliary storage.
        config: The ``security_log=`` setting; ``None`` uses the defaults.

    Returns:
        The security log, also set as ``auth.runtime.security_log``.
    """
    for transport in auth.transports:
        if isinstance(transport, BearerTransport) and not transport.stateless:
            ttl = transport.refresh_ttl_days * 86400
            store = auth.auxiliary_storage(
                transport.family_storage_prefix, ttl, label=MEMORY_FAMILY_STORE
            )
            transport.attach_family_store(store)

    config = config or SecurityLogConfig()
    log_store = auth.auxiliary_storage(
        config.storage_prefix, retention_seconds(config), label=MEMORY_SECURITY_LOG
    )
    security_log = SecurityLog(log_store, auth.runtime, config)
    auth.runtime.security_log = security_log

    for transport in auth.transports:
        if isinstance(transport, SessionTransport) and transport.manager is not None:
            transport.manager.ended_listener = _session_listener(auth.runtime)
    return security_log


def _session_listener(runtime: AuthRuntime) -> Any:
    async def on_session_ended(user_id: Any, handles: list[str], reason: str) -> None:
        await record_security_event(
            runtime,
            user_id,
            SecurityEventType.SESSION_ENDED,
            detail=_ended_detail(handles, reason),
        )

    return on_session_ended


def _ended_detail(handles: list[str], reason: str) -> dict[str, Any]:
    # One event listing hundreds of handles would outweigh the rest of the log, so a
    # large sign-out keeps the first handles and the full count.
    return {"handles": handles[:MAX_LOGGED_HANDLES], "count": len(handles), "reason": reason}


def token_families_of(runtime: AuthRuntime) -> list[BearerTransport]:
    """Return the bearer transports that keep token families.

    Args:
        runtime: The facade's shared state.
    """
    return [
        transport
        for transport in runtime.transports
        if isinstance(transport, BearerTransport) and transport.families is not None
    ]


async def end_user_credentials(
    runtime: AuthRuntime,
    user_id: Any,
    *,
    reason: str,
    keep_session: str | None = None,
    keep_family: str | None = None,
    request: Request | None = None,
) -> int:
    """End the user's sessions and token families but the kept ones; return the count.

    The ended families are written to the security log as one event with ``reason``,
    and the session manager logs the sessions it ends.

    Args:
        runtime: The facade's shared state.
        user_id: Primary key of the user.
        reason: Why the credentials end, such as ``"password_reset"``.
        keep_session: Raw id of a session to keep, usually the caller's own.
        keep_family: Raw id of a token family to keep, usually the caller's own.
        request: The request, for the security log.

    Returns:
        The number of sessions and families ended.

    Raises:
        StoreUnavailableError: A session or family store is unreachable.
    """
    ended = 0
    for transport in runtime.transports:
        if isinstance(transport, SessionTransport) and transport.manager is not None:
            ended += await transport.manager.terminate_all_user_sessions(
                user_id, reason=reason, exclude=keep_session
            )
    handles: list[str] = []
    for bearer in token_families_of(runtime):
        assert bearer.families is not None
        records = await bearer.families.revoke_all(user_id, exclude=keep_family)
        handles.extend(record.handle for record in records)
    if handles:
        # One event for the whole batch keeps the cost constant in the device count.
        await record_security_event(
            runtime,
            user_id,
            SecurityEventType.TOKEN_FAMILY_ENDED,
            request=request,
            detail=_ended_detail(handles, reason),
        )
    return ended + len(handles)


async def rebind_family(runtime: AuthRuntime, family_id: str, token_version: int) -> None:
    """Bind the caller's family to a new credential epoch so it survives the bump.

    Args:
        runtime: The facade's shared state.
        family_id: Raw id of the family to keep.
        token_version: The user's new ``token_version``.
    """
    for bearer in token_families_of(runtime):
        assert bearer.families is not None
        await bearer.families.rebind(family_id, token_version)
