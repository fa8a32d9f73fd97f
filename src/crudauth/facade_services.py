"""The facade's public properties: session manager, feature services, rate limits."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from crudauth.email import EmailFlowService
from crudauth.mfa import MfaService
from crudauth.oauth.provider import AbstractOAuthProvider
from crudauth.oauth.service import OAuthAccountService
from crudauth.oauth.wiring import OAuthFeature
from crudauth.ratelimit import RateLimit, RateLimiterBackend
from crudauth.security_log import SecurityLog
from crudauth.transports.session import SessionManager, SessionTransport

if TYPE_CHECKING:
    from crudauth.passkeys import PasskeyService

__all__ = ["FacadeServices"]


class FacadeServices:
    """The session manager, the feature services, the rate limits and the security log.

    A mixin of ``CRUDAuth`` without a constructor: ``CRUDAuth.__init__`` sets every
    field.

    Attributes:
        _session_transport: The first session transport, or ``None``.
        _emails: The recovery service, or ``None``.
        _oauth: The OAuth feature, or ``None``.
        _mfa: The TOTP service, or ``None``.
        _passkeys: The passkey service, or ``None``.
        _rate_limiter: The rate limiter backend in use.
        _rate_limits: The default limits merged with the app's overrides.
        _security_log: The per-user security log.
    """

    _session_transport: SessionTransport | None
    _emails: EmailFlowService | None
    _oauth: OAuthFeature | None
    _mfa: MfaService | None
    _passkeys: PasskeyService | None
    _rate_limiter: RateLimiterBackend
    _rate_limits: dict[str, RateLimit]
    _security_log: SecurityLog

    @property
    def sessions(self) -> SessionManager:
        """The first session transport's ``SessionManager``."""
        transport = self._session_transport
        if transport is None or transport.manager is None:
            raise RuntimeError("No SessionTransport configured")
        return transport.manager

    @property
    def session_manager(self) -> SessionManager | None:
        """The first session transport's manager, or ``None`` without one."""
        transport = self._session_transport
        return transport.manager if transport is not None else None

    @property
    def emails(self) -> EmailFlowService | None:
        """The recovery service, or ``None`` without ``email=`` or ``channels=``."""
        return self._emails

    @property
    def oauth(self) -> OAuthAccountService | None:
        """The OAuth account-linking service, or ``None`` without ``oauth=``."""
        return self._oauth.service if self._oauth is not None else None

    @property
    def mfa(self) -> MfaService | None:
        """The TOTP service, or ``None`` without ``mfa=``."""
        return self._mfa

    @property
    def passkeys(self) -> PasskeyService | None:
        """The passkey service, or ``None`` without ``passkeys=``."""
        return self._passkeys

    @property
    def oauth_providers(self) -> Mapping[str, AbstractOAuthProvider]:
        """Read-only mapping of provider name to the configured provider object."""
        if self._oauth is None:
            return MappingProxyType({})
        return self._oauth.providers

    @property
    def rate_limiter(self) -> RateLimiterBackend:
        return self._rate_limiter

    @property
    def rate_limits(self) -> dict[str, RateLimit]:
        return dict(self._rate_limits)

    @property
    def security_log(self) -> SecurityLog:
        """The per-user security log."""
        return self._security_log
