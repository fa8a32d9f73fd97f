"""The composition root: one object that wires every part of crudauth together."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from crudauth.configuration import (
    check_identity,
    merge_rate_limits,
    warn_about_memory_backends,
    warn_about_registration,
)
from crudauth.constants import DEFAULT_ALGORITHM, DEFAULT_FRESH_SIGN_IN_SECONDS
from crudauth.core import AuthRuntime, CookieConfig, Transport
from crudauth.dependencies import open_dependency
from crudauth.email import DeliveryChannel, EmailConfig
from crudauth.email.wiring import build_email_service
from crudauth.facade_backends import MEMORY_MFA_STORE, MEMORY_TOKEN_STORES, FacadeBackends
from crudauth.facade_dependencies import FacadeDependencies
from crudauth.facade_routers import FacadeRouters
from crudauth.facade_services import FacadeServices
from crudauth.hooks import AuthHooks
from crudauth.identity import IdentityConfig
from crudauth.mfa import MfaConfig, MfaService
from crudauth.mfa.constants import CHALLENGE_STORAGE_PREFIX
from crudauth.mfa.wiring import build_mfa_service
from crudauth.oauth.schemas import OAuthCredentials
from crudauth.oauth.wiring import OAuthFeature, build_oauth_feature
from crudauth.passkeys import PasskeyConfig
from crudauth.passkeys.wiring import build_passkey_service
from crudauth.password import PasswordContext, PasswordPolicy, PasswordSource
from crudauth.principal import Principal
from crudauth.provisioning import NewUserFields
from crudauth.ratelimit import (
    DEFAULT_RATE_LIMITS,
    LockoutConfig,
    LockoutPolicy,
    RateLimit,
    RateLimiterBackend,
)
from crudauth.repository import UserRepository
from crudauth.resolution import PrincipalResolver
from crudauth.revocation import build_credential_tracking
from crudauth.security_log import SecurityEvent, SecurityLogConfig
from crudauth.storage.base import AbstractSessionStorage
from crudauth.sudo import SudoConfig, SudoManager, build_sudo_manager
from crudauth.transports.bearer import BearerTransport
from crudauth.transports.session import SessionTransport
from crudauth.user_cache import UserCacheConfig, UserRowCache
from crudauth.utils.hashers import DEFAULT_PASSWORD_HASHER, PasswordHasher
from crudauth.utils.password_hashing import PasswordHashing

if TYPE_CHECKING:
    from crudauth.protocols import AuthSurface
    from crudauth.storage import DatabaseStore

__all__ = ["MEMORY_MFA_STORE", "MEMORY_TOKEN_STORES", "CRUDAuth"]

logger = logging.getLogger("crudauth")


class CRUDAuth(FacadeServices, FacadeRouters, FacadeDependencies, FacadeBackends):
    """Authentication for a FastAPI app that owns its SQLAlchemy user model.

    Args:
        session: FastAPI dependency yielding an ``AsyncSession``.
        user_model: The app's declarative user model.
        SECRET_KEY: Signs tokens and keys the HMAC under which sessions are stored.
        transports: Ordered transports; the first present credential wins.
        user_cache: Serve user rows from process memory for a few seconds
            (``crudauth.user_cache.UserCacheConfig``); off by default.

    Every other keyword is optional and documented in the guides. Construction validates
    the configuration against the model and raises ``ValueError`` naming the setting.

    Example:
        ```python
        auth = CRUDAuth(session=get_db, user_model=User, SECRET_KEY=settings.secret)
        app.include_router(auth.router)
        ```
    """

    def __init__(
        self,
        *,
        session: Callable[..., Any],
        user_model: type[Any],
        SECRET_KEY: str,
        transports: Sequence[Transport] | None = None,
        column_map: dict[str, str] | None = None,
        identity: IdentityConfig | None = None,
        oauth: dict[str, OAuthCredentials] | None = None,
        oauth_paths: dict[str, str] | None = None,
        oauth_response_mode: str = "redirect",
        oauth_default_redirect: str | None = None,
        email: EmailConfig | None = None,
        channels: list[DeliveryChannel] | None = None,
        hooks: AuthHooks | None = None,
        redirect_base_url: str | None = None,
        algorithm: str = DEFAULT_ALGORITHM,
        cookies: CookieConfig | None = None,
        register_schema: type[BaseModel] | None = None,
        register_extra_fields: set[str] | None = None,
        new_user_fields: NewUserFields | None = None,
        new_user_defaults: dict[str, Any] | None = None,
        rate_limiter: RateLimiterBackend | None = None,
        redis_url: str | None = None,
        redis_client: Any = None,
        database_store: DatabaseStore | None = None,
        rate_limit_prefix: str | None = None,
        rate_limits: dict[str, RateLimit] | None = None,
        lockout: LockoutConfig | None = None,
        trusted_proxy_hops: int = 0,
        sudo: SudoConfig | None = None,
        mfa: MfaConfig | None = None,
        passkeys: PasskeyConfig | None = None,
        warn_on_memory_backend: bool = True,
        password_policy: PasswordPolicy | None = None,
        legacy_verifiers: Sequence[Callable[[str, str], bool]] | None = None,
        fresh_sign_in_seconds: int = DEFAULT_FRESH_SIGN_IN_SECONDS,
        security_log: SecurityLogConfig | None = None,
        password_hasher: str | PasswordHasher = DEFAULT_PASSWORD_HASHER,
        password_pepper: str | None = None,
        previous_password_peppers: Sequence[str] = (),
        previous_secret_keys: Sequence[str] = (),
        user_cache: UserCacheConfig | None = None,
    ) -> None:
        if not SECRET_KEY:
            raise ValueError("SECRET_KEY is required")
        if redis_url is not None and redis_client is not None:
            raise ValueError("Pass redis_url= or redis_client=, not both")
        if database_store is not None and (redis_url is not None or redis_client is not None):
            raise ValueError("database_store= cannot be combined with redis_url= or redis_client=")
        if rate_limit_prefix is not None and rate_limiter is not None:
            raise ValueError(
                "rate_limit_prefix= applies only to the limiter crudauth builds; set the "
                "prefix on your rate_limiter= instead"
            )
        if trusted_proxy_hops < 0:
            raise ValueError("trusted_proxy_hops must be 0 or more")

        self.session = session
        self.identity = identity or IdentityConfig()
        self.hooks = hooks or AuthHooks()
        self.repo = UserRepository(
            user_model,
            column_map=column_map,
            register_extra_fields=register_extra_fields,
            login_fields=list(self.identity.login),
            recovery=self.identity.recovery,
        )
        check_identity(self.repo, self.identity, oauth=oauth, email=email, channels=channels)
        if user_cache is not None:
            self.repo.row_cache = UserRowCache(user_model, user_cache)
        if fresh_sign_in_seconds < 0:
            raise ValueError("fresh_sign_in_seconds must be 0 or more (0 closes the window)")
        self.fresh_sign_in_seconds = fresh_sign_in_seconds
        self.password_policy = password_policy or PasswordPolicy()
        self.new_user_fields = new_user_fields
        self.new_user_defaults = self.repo.filter_provisioning_data(dict(new_user_defaults or {}))
        self.register_schema = register_schema
        warn_about_registration(self.repo, register_extra_fields, register_schema)
        self._rate_limits = merge_rate_limits(DEFAULT_RATE_LIMITS, rate_limits)

        self.transports: list[Transport] = list(transports or [SessionTransport()])
        self._session_transport: SessionTransport | None = next(
            (t for t in self.transports if isinstance(t, SessionTransport)), None
        )
        self._bearer_transport: BearerTransport | None = next(
            (t for t in self.transports if isinstance(t, BearerTransport)), None
        )

        self._owned_redis = False
        if redis_url is not None:
            from crudauth.storage.backends.redis import redis_client_from_url

            redis_client = redis_client_from_url(redis_url)
            self._owned_redis = True
        self._redis_client = redis_client
        self._database_store = database_store
        self._rate_limiter = self._build_rate_limiter(rate_limiter, rate_limit_prefix)

        lockout_config = self._lockout_config(lockout)
        self.lockout = LockoutPolicy(
            self._rate_limiter,
            max_attempts=lockout_config.max_attempts,
            attempt_window_seconds=lockout_config.attempt_window_seconds,
            lockout_base_seconds=lockout_config.lockout_base_seconds,
            lockout_max_seconds=lockout_config.lockout_max_seconds,
            round_retention_seconds=lockout_config.round_retention_seconds,
            on_login_success=lockout_config.on_login_success,
            fail_open=False,
        )
        self.runtime = AuthRuntime(
            secret_key=SECRET_KEY,
            repo=self.repo,
            hooks=self.hooks,
            redirect_base_url=redirect_base_url,
            db_dependency=session,
            algorithm=algorithm,
            cookie_config=cookies or CookieConfig(),
            rate_limiter=self._rate_limiter,
            lockout=self.lockout,
            trusted_proxy_hops=trusted_proxy_hops,
            redis_client=redis_client,
            transports=self.transports,
            database_store=database_store,
            legacy_verifiers=tuple(legacy_verifiers or ()),
            previous_secret_keys=_check_previous_keys(SECRET_KEY, previous_secret_keys),
            passwords=PasswordHashing(
                password_hasher, pepper=password_pepper, previous_peppers=previous_password_peppers
            ),
        )
        for transport in self.transports:
            transport.bind(self.runtime)
        self._resolver = PrincipalResolver(self.runtime)
        self._auxiliary_stores: list[tuple[AbstractSessionStorage[Any], str, str]] = []
        self._security_log = build_credential_tracking(self, security_log)
        self._mfa: MfaService | None = None
        if mfa is not None:
            challenge_store = self.auxiliary_storage(
                CHALLENGE_STORAGE_PREFIX, mfa.challenge_ttl_seconds, label=MEMORY_MFA_STORE
            )
            self._mfa = build_mfa_service(
                self.runtime, mfa, challenge_store, oauth_configured=bool(oauth)
            )
            self.runtime.mfa = self._mfa
        self.sudo: SudoManager | None = build_sudo_manager(
            sudo,
            session_manager=self.session_manager,
            repo=self.repo,
            backend=self._rate_limiter,
            hooks=self.hooks,
            mfa=self._mfa,
            passwords=self.runtime.passwords,
        )
        self._passkeys = build_passkey_service(
            self.runtime,
            passkeys,
            store_factory=self.auxiliary_storage,
            sudo_configured=self.sudo is not None,
        )
        self._emails = build_email_service(self, email, channels)
        self.runtime.email_service = self._emails
        if self._emails is not None:
            self._emails.runtime = self.runtime
        self._oauth: OAuthFeature | None = None
        if oauth:
            self._oauth = build_oauth_feature(
                oauth=oauth,
                repo=self.repo,
                session_transport=self._session_transport,
                redirect_base_url=redirect_base_url,
                oauth_paths=oauth_paths,
                response_mode=oauth_response_mode,
                default_redirect=oauth_default_redirect,
                new_user_fields=new_user_fields,
                new_user_defaults=self.new_user_defaults,
                state_store_factory=self.auxiliary_storage,
            )
        if self._oauth is not None:
            self._oauth.service.runtime = self.runtime
        if warn_on_memory_backend:
            warn_about_memory_backends(self._memory_parts())

    # -- methods ---------------------------------------------------------------------

    async def authenticate_password(
        self,
        db: AsyncSession,
        identifier: str,
        password: str,
        *,
        request: Request,
        record_success: bool = True,
    ) -> Any:
        """Run the hardened credential check behind ``/login`` and ``/token``."""
        return await self.runtime.authenticate_password(
            db, identifier, password, request=request, record_success=record_success
        )

    async def issue_tokens(
        self, user: Any, *, scopes: Sequence[str] | None = None, request: Request | None = None
    ) -> dict[str, Any]:
        """Start a token family and mint its tokens through the first bearer transport.

        The ``request``, when given, names the device and IP shown in device lists.
        """
        if self._bearer_transport is None:
            raise RuntimeError("No BearerTransport configured")
        return await self._bearer_transport.issue_tokens(user, scopes=scopes, request=request)

    async def security_events(
        self, user_id: Any, *, offset: int = 0, limit: int = 50
    ) -> list[SecurityEvent]:
        """Return a page of the user's security events, newest first."""
        events, _total = await self._security_log.events(user_id, offset=offset, limit=limit)
        return events

    async def validate_password(
        self,
        password: str,
        *,
        user: Any = None,
        source: PasswordSource = "set",
        field: str = "password",
    ) -> None:
        """Enforce the password policy; raises ``PasswordPolicyException`` (422)."""
        if user is not None:
            context = PasswordContext.for_user(self.repo, source, user)
        else:
            context = PasswordContext(source=source, username=None, email=None, user=None)
        await self.password_policy.enforce(password, context, field=field)

    async def signed_in_recently(self, principal: Principal) -> bool:
        """Return whether a session principal signed in recently or is in sudo mode.

        Always ``False`` for other principals and when ``fresh_sign_in_seconds`` is 0.
        """
        if self.fresh_sign_in_seconds == 0 or principal.transport != "session":
            return False
        if self._session_transport is None or self._session_transport.manager is None:
            return False
        session_id = principal.metadata.get("session_id")
        if not session_id:
            return False
        record = await self._session_transport.manager.get_session(session_id)
        if record is None:
            return False
        age = datetime.now(timezone.utc) - record.created_at
        if age.total_seconds() <= self.fresh_sign_in_seconds:
            return True
        # An active sudo elevation proves presence as well as a new sign-in does.
        return self.sudo is not None and await self.sudo.is_elevated(principal)

    async def resolve_principal(
        self, request: Request, update_activity: bool = False
    ) -> Principal | None:
        """Resolve the caller outside dependency injection, e.g. in middleware.

        Opens its own DB session through the ``session`` dependency (dependency
        overrides do not apply), never checks CSRF, and returns ``None`` for anonymous
        or invalid credentials.
        """
        async with AsyncExitStack() as stack:
            db = await open_dependency(self.session, stack)
            return await self._resolver.resolve_outside_dependencies(
                request, db, update_activity=update_activity
            )

    async def initialize(self) -> None:
        """Open connections: the limiter, then each transport. Call at app start-up."""
        await self._rate_limiter.initialize()
        for transport in self.transports:
            await transport.initialize()
        if self._oauth is not None:
            await self._oauth.initialize()
        for store, _backend, _label in self._auxiliary_stores:
            await store.initialize()

    async def shutdown(self) -> None:
        """Close every connection; all closers run and the first error is re-raised."""
        closers: list[Callable[[], Any]] = [t.shutdown for t in self.transports]
        closers.extend(store.close for store, _backend, _label in self._auxiliary_stores)
        closers.append(self._rate_limiter.close)
        if self._owned_redis and self._redis_client is not None:
            closers.append(self._redis_client.aclose)
        if self._database_store is not None:
            closers.append(self._database_store.dispose)
        first_error: BaseException | None = None
        for close in closers:
            try:
                await close()
            except Exception as exc:
                logger.exception("crudauth shutdown step failed")
                first_error = first_error or exc
        if first_error is not None:
            raise first_error


def _check_previous_keys(current: str, previous: Sequence[str]) -> tuple[str, ...]:
    """Return the retired keys as a tuple after checking each is a usable string."""
    if isinstance(previous, str):
        raise ValueError("previous_secret_keys must be a list of keys, not one string")
    keys = tuple(previous)
    for key in keys:
        if not isinstance(key, str) or not key:
            raise ValueError("previous_secret_keys must contain non-empty strings")
        if key == current:
            raise ValueError("previous_secret_keys must not contain the current SECRET_KEY")
    return keys


if TYPE_CHECKING:

    def _is_auth_surface(auth: CRUDAuth) -> AuthSurface:
        # The route builders take the facade as an AuthSurface: mypy checks it here.
        return auth
