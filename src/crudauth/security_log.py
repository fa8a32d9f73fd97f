"""The per-user security log: sign-ins, new devices, credential changes, ended sessions.

Events are kept in the storage port (memory, Redis or the database, like every other
piece of server-side state) as one capped list per user, and each is also handed to the
``on_security_event`` hook. A second small record per user remembers when each browser
and OS pair last signed in, so spotting a new device reads no events. An event carries
the event type, time, IP address, parsed device and plain details such as a reason or a
public session handle. It never carries a password, token, cookie value or session id.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from crudauth.constants import USER_AGENT_MAX_LENGTH
from crudauth.hooks import HookContext
from crudauth.storage.upsert import modify_or_create
from crudauth.transports.session.useragent import parse_user_agent
from crudauth.utils.http import get_client_ip

if TYPE_CHECKING:
    from starlette.requests import Request

    from crudauth.core import AuthRuntime
    from crudauth.storage.base import AbstractSessionStorage

__all__ = [
    "SecurityEvent",
    "SecurityEventType",
    "SecurityLog",
    "SecurityLogConfig",
]

logger = logging.getLogger("crudauth.security")

SECURITY_LOG_PREFIX = "security_log:"
SECONDS_PER_DAY = 86400
EVENT_ID_BYTES = 8
# Browser and OS pairs remembered per user for new-device sign-ins. The least recently
# seen pair is dropped first, so a user with more devices may hear of an old one again.
MAX_KNOWN_DEVICES = 50


class SecurityEventType:
    """The ``type`` values of security events.

    Attributes:
        SIGN_IN: A credential was issued after a successful sign-in.
        SIGN_IN_FAILED: A wrong password was given for an existing account.
        NEW_DEVICE: A sign-in came from a browser and OS pair not seen recently.
        PASSWORD_CHANGED: The account's password was changed.
        PASSWORD_RESET: A reset link set a new password.
        EMAIL_CHANGED: An email change was confirmed.
        SESSION_ENDED: One or more sessions ended; ``detail`` has handles and reason.
        TOKEN_FAMILY_ENDED: Refresh-token families were revoked.
        REFRESH_TOKEN_REUSED: A used refresh token was presented again.
        MFA_ENABLED: MFA enrolment was confirmed.
        MFA_DISABLED: MFA was turned off.
        RECOVERY_CODE_USED: An MFA recovery code was consumed.
    """

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    NEW_DEVICE = "new_device"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"
    EMAIL_CHANGED = "email_changed"
    SESSION_ENDED = "session_ended"
    TOKEN_FAMILY_ENDED = "token_family_ended"
    REFRESH_TOKEN_REUSED = "refresh_token_reused"
    MFA_ENABLED = "mfa_enabled"
    MFA_DISABLED = "mfa_disabled"
    RECOVERY_CODE_USED = "recovery_code_used"


@dataclass(frozen=True)
class SecurityLogConfig:
    """Retention and new-device settings of the security log.

    Args:
        retention_days: How long a user's log is kept after its last event, and the
            age past which single events are dropped.
        max_events_per_user: The newest events kept per user; older ones are dropped.
        new_device_window_days: A sign-in from a browser and OS pair not seen in this
            many days fires ``on_new_device_sign_in``. It cannot exceed
            ``retention_days``, because the log is what remembers devices.
        storage_prefix: Key prefix of the log in the shared store; apps sharing one
            Redis or database store need different prefixes.

    Raises:
        ValueError: A number is below 1, ``new_device_window_days`` exceeds
            ``retention_days``, or ``storage_prefix`` is empty.

    Example:
        ```python
        config = SecurityLogConfig(retention_days=30, new_device_window_days=30)
        auth = CRUDAuth(..., security_log=config)
        ```
    """

    retention_days: int = 90
    max_events_per_user: int = 200
    new_device_window_days: int = 90
    storage_prefix: str = SECURITY_LOG_PREFIX

    def __post_init__(self) -> None:
        for name in ("retention_days", "max_events_per_user", "new_device_window_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SecurityLogConfig.{name} must be 1 or more, not {value!r}")
        if self.new_device_window_days > self.retention_days:
            raise ValueError(
                "SecurityLogConfig.new_device_window_days must not exceed retention_days: "
                "devices are remembered only as long as the log keeps events"
            )
        if not self.storage_prefix:
            raise ValueError("SecurityLogConfig.storage_prefix must be a non-empty string")


class SecurityEvent(BaseModel):
    """One entry of a user's security log."""

    id: str
    type: str
    at: datetime
    ip_address: str | None = None
    device: dict[str, Any] = Field(default_factory=dict)
    detail: dict[str, Any] = Field(default_factory=dict)


class KnownDevices(BaseModel):
    """Stored form of the devices a user signed in from: device name to last sign-in."""

    seen: dict[str, datetime] = Field(default_factory=dict)


class SecurityLog:
    """Record, read and publish a user's security events.

    ``CRUDAuth`` builds one and keeps it as ``auth.runtime.security_log``.

    Args:
        storage: The store that keeps one capped event list per user.
        runtime: The facade's shared state, for the hooks and the repository.
        config: Retention and new-device settings; ``None`` uses the defaults.
    """

    def __init__(
        self,
        storage: AbstractSessionStorage[Any],
        runtime: AuthRuntime,
        config: SecurityLogConfig | None = None,
    ) -> None:
        self.storage = storage
        self.runtime = runtime
        self.config = config or SecurityLogConfig()
        self.retention = timedelta(days=self.config.retention_days)

    def _now(self) -> datetime:
        """Return the current UTC time; tests override this to move the clock."""
        return datetime.now(timezone.utc)

    @staticmethod
    def _events_id(user_id: Any) -> str:
        return f"events:user:{user_id}"

    @staticmethod
    def _devices_id(user_id: Any) -> str:
        return f"devices:user:{user_id}"

    async def record(
        self,
        user_id: Any,
        event_type: str,
        *,
        request: Request | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> SecurityEvent:
        """Append an event to the user's log and fire ``on_security_event``.

        Args:
            user_id: Primary key of the user.
            event_type: One of the ``SecurityEventType`` values.
            request: The request, for the client address and the device.
            detail: Plain facts only (reasons, handles, counts), never a secret.

        Returns:
            The stored event.

        Raises:
            StoreUnavailableError: The store is unreachable.
        """
        ip_address, device = self._request_facts(request)
        event = SecurityEvent(
            id=secrets.token_hex(EVENT_ID_BYTES),
            type=event_type,
            at=self._now(),
            ip_address=ip_address,
            device=device,
            detail=dict(detail or {}),
        )
        await self._append(user_id, event)
        logger.info(
            "security event type=%s user_id=%s",
            event_type,
            user_id,
            extra={"event": event_type, "user_id": user_id},
        )
        context = HookContext(ip_address=ip_address, request=request)
        await self.runtime.hooks.fire(
            "on_security_event", user_id, event.model_dump(mode="json"), context=context
        )
        return event

    async def _append(self, user_id: Any, event: SecurityEvent) -> None:
        # A capped list: one push, however many events the user already has.
        await self.storage.push_capped(
            self._events_id(user_id),
            event,
            cap=self.config.max_events_per_user,
            expiration=int(self.retention.total_seconds()),
        )

    async def events(
        self, user_id: Any, *, offset: int = 0, limit: int = 50
    ) -> tuple[list[SecurityEvent], int]:
        """Return a page of the user's events, newest first, and the total count.

        Events older than the retention are left out of both.

        Args:
            user_id: Primary key of the user.
            offset: Number of events to skip.
            limit: Maximum number of events to return.

        Returns:
            ``(events, total)``.
        """
        stored = await self.storage.read_capped(self._events_id(user_id), SecurityEvent)
        cutoff = self._now() - self.retention
        live = [event for event in stored if event.at > cutoff]
        return live[offset : offset + limit], len(live)

    async def note_device(self, user_id: Any, device: Mapping[str, Any]) -> bool:
        """Remember a sign-in from this browser and OS pair; return whether it is new.

        A pair is new when it has not signed in within ``new_device_window_days``.
        The user's most recent ``MAX_KNOWN_DEVICES`` pairs are remembered.

        Args:
            user_id: Primary key of the user.
            device: The parsed device, with ``browser`` and ``os`` keys.

        Returns:
            Whether the pair is new.
        """
        name = f"{device.get('browser')} on {device.get('os')}"
        now = self._now()
        cutoff = now - timedelta(days=self.config.new_device_window_days)
        expiration = int(self.retention.total_seconds())
        last_seen: list[datetime | None] = [None]

        def remember(known: KnownDevices) -> None:
            last_seen[0] = known.seen.get(name)
            known.seen[name] = now
            if len(known.seen) > MAX_KNOWN_DEVICES:
                newest = sorted(known.seen.items(), key=lambda pair: pair[1], reverse=True)
                known.seen = dict(newest[:MAX_KNOWN_DEVICES])

        try:
            await modify_or_create(
                self.storage,
                self._devices_id(user_id),
                KnownDevices,
                remember,
                expiration=expiration,
            )
        except RuntimeError:
            # The sign-in goes on: at worst the device is reported as new again.
            logger.warning("device record not written: user_id=%s", user_id)
            return True
        return last_seen[0] is None or last_seen[0] <= cutoff

    async def record_sign_in(
        self, user: Any, *, request: Request | None, transport: str, method: str = "password"
    ) -> None:
        """Record a sign-in, firing ``on_new_device_sign_in`` for an unseen device.

        An unseen device also gets a ``new_device`` event.

        Args:
            user: The user row.
            request: The sign-in request, or ``None``.
            transport: Name of the transport that issued the credential.
            method: How the user proved who they are, such as ``"password"``.
        """
        repo = self.runtime.repo
        user_id = repo.user_id(user)
        ip_address, device = self._request_facts(request)
        is_new = await self.note_device(user_id, device)
        await self.record(
            user_id,
            SecurityEventType.SIGN_IN,
            request=request,
            detail={"transport": transport, "method": method},
        )
        if not is_new:
            return
        await self.record(
            user_id, SecurityEventType.NEW_DEVICE, request=request, detail={"transport": transport}
        )
        user_agent = request.headers.get("user-agent") if request is not None else None
        context = HookContext(
            ip_address=ip_address,
            user_agent=user_agent[:USER_AGENT_MAX_LENGTH] if user_agent else None,
            transport=transport,
            request=request,
        )
        await self.runtime.hooks.fire(
            "on_new_device_sign_in",
            repo.to_dict(user),
            device=device,
            ip_address=ip_address,
            context=context,
        )

    def _request_facts(self, request: Request | None) -> tuple[str | None, dict[str, Any]]:
        if request is None:
            return None, {}
        ip_address = get_client_ip(request, self.runtime.trusted_proxy_hops)
        user_agent = request.headers.get("user-agent", "")[:USER_AGENT_MAX_LENGTH]
        info = parse_user_agent(user_agent)
        return ip_address or None, {"browser": info.browser, "os": info.os, "device": info.device}


async def record_security_event(
    runtime: AuthRuntime,
    user_id: Any,
    event_type: str,
    *,
    request: Request | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Record an event when the runtime has a security log; do nothing otherwise.

    Args:
        runtime: The facade's shared state.
        user_id: Primary key of the user; ``None`` records nothing.
        event_type: One of the ``SecurityEventType`` values.
        request: The request, for the client address and the device.
        detail: Plain facts only, never a secret.
    """
    log: SecurityLog | None = getattr(runtime, "security_log", None)
    if log is not None and user_id is not None:
        await log.record(user_id, event_type, request=request, detail=detail)


def retention_seconds(config: SecurityLogConfig) -> int:
    """Return the store TTL of a user's log for ``config``.

    Args:
        config: The security log settings.

    Returns:
        ``retention_days`` in seconds.
    """
    return config.retention_days * SECONDS_PER_DAY
