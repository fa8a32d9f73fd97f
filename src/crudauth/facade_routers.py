"""The facade's routers: every enabled route, or one feature's routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from fastapi import APIRouter
from pydantic import BaseModel

from crudauth.account import build_account_router
from crudauth.core import Transport
from crudauth.email import EmailFlowService
from crudauth.email.router import build_email_router
from crudauth.mfa import MfaService
from crudauth.mfa.router import build_mfa_router
from crudauth.oauth.router import build_oauth_router
from crudauth.oauth.wiring import OAuthFeature
from crudauth.passkeys.router import build_passkeys_router
from crudauth.protocols import AuthSurface
from crudauth.register import RegisterIn, build_register_route
from crudauth.transports.bearer import BearerTransport
from crudauth.transports.session import SessionTransport
from crudauth.transports.session.management import build_session_management_router
from crudauth.utils.route_conventions import finish_routes

if TYPE_CHECKING:
    from crudauth.passkeys import PasskeyService

__all__ = ["FacadeRouters"]


class FacadeRouters:
    """The router of every enabled route and the router of each single feature.

    A mixin of ``CRUDAuth`` without a constructor: ``CRUDAuth.__init__`` sets every
    field. The route builders receive the facade itself as an ``AuthSurface``.

    Attributes:
        register_schema: Body model of ``POST /register``, or ``None`` for
            ``RegisterIn``.
        transports: The configured transports, in order.
        _session_transport: The first session transport, or ``None``.
        _bearer_transport: The first bearer transport, or ``None``.
        _oauth: The OAuth feature, or ``None``.
        _emails: The recovery service, or ``None``.
        _mfa: The TOTP service, or ``None``.
        _passkeys: The passkey service, or ``None``.
    """

    register_schema: type[BaseModel] | None
    transports: list[Transport]
    _session_transport: SessionTransport | None
    _bearer_transport: BearerTransport | None
    _oauth: OAuthFeature | None
    _emails: EmailFlowService | None
    _mfa: MfaService | None
    _passkeys: PasskeyService | None

    def _surface(self) -> AuthSurface:
        # CRUDAuth, the only class that mixes this in, implements AuthSurface.
        return cast("AuthSurface", self)

    @property
    def router(self) -> APIRouter:
        """Every enabled route; a new router is assembled on each access."""
        router = APIRouter()
        auth = self._surface()
        body_model = self.register_schema or RegisterIn
        router.include_router(build_register_route(auth, body_model))
        router.include_router(build_account_router(auth))
        session_transport = self._session_transport
        if session_transport is not None and session_transport.management_routes:
            router.include_router(build_session_management_router(auth, session_transport))
        for transport in self.transports:
            routes = transport.contributes_routes()
            if routes is not None:
                router.include_router(routes)
        if self._oauth is not None:
            router.include_router(build_oauth_router(auth, self._oauth))
        # Recovery routes follow the OAuth routes and precede the MFA routes.
        if self._emails is not None:
            router.include_router(build_email_router(auth, self._emails))
        if self._mfa is not None:
            router.include_router(build_mfa_router(auth, self._mfa))
        if self._passkeys is not None:
            router.include_router(build_passkeys_router(auth, self._passkeys))
        # One place applies the route conventions, such as no-store on every response.
        return finish_routes(router)

    @property
    def session_router(self) -> APIRouter:
        transport = self._session_transport
        routes = transport.contributes_routes() if transport is not None else None
        if routes is None:
            raise RuntimeError("No SessionTransport configured")
        return finish_routes(routes)

    @property
    def bearer_router(self) -> APIRouter:
        transport = self._bearer_transport
        routes = transport.contributes_routes() if transport is not None else None
        if routes is None:
            raise RuntimeError("No BearerTransport configured")
        return finish_routes(routes)

    @property
    def oauth_router(self) -> APIRouter:
        """The OAuth authorize and callback routes."""
        if self._oauth is None:
            raise RuntimeError("OAuth is not configured; pass CRUDAuth(oauth={...})")
        return finish_routes(build_oauth_router(self._surface(), self._oauth))

    @property
    def mfa_router(self) -> APIRouter:
        """Just the ``/mfa`` routes; ``RuntimeError`` without ``mfa=``."""
        if self._mfa is None:
            raise RuntimeError("MFA is not configured; pass CRUDAuth(mfa=MfaConfig(...))")
        return finish_routes(build_mfa_router(self._surface(), self._mfa))
