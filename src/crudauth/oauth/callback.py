"""The callback algorithm: state check, code exchange, account resolution, sign-in."""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from crudauth.exceptions import OAuthAccountException
from crudauth.hooks import HookContext
from crudauth.oauth.constants import (
    ACCOUNT_INACTIVE,
    INVALID_STATE,
    OAUTH_FAILED,
    OAUTH_LOGIN_TYPE,
    OAUTH_STATE_COOKIE_NAME,
)
from crudauth.oauth.provider import AbstractOAuthProvider, import_httpx
from crudauth.oauth.responses import (
    clear_state_cookie,
    failure_response,
    finish,
    json_response,
    redirect,
)
from crudauth.oauth.schemas import OAuthState, OAuthUserInfo
from crudauth.transports.session.constants import LOGIN_TYPE_META_KEY, OAUTH_PROVIDER_META_KEY
from crudauth.utils.http import get_client_ip, safe_redirect_path

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession
    from starlette.requests import Request

    from crudauth.oauth.wiring import OAuthFeature
    from crudauth.protocols import AuthSurface

__all__ = ["run_callback"]

logger = logging.getLogger("crudauth.oauth")


async def run_callback(
    auth: AuthSurface,
    feature: OAuthFeature,
    request: Request,
    db: AsyncSession,
    *,
    provider: str,
    code: str | None,
    state: str | None,
    error: str | None,
) -> Response:
    """Run the callback for ``provider`` and return the response to send.

    The ``state`` must match the browser's state cookie and a stored, unused state
    record. The code is then exchanged, the account linked or created, and a session
    started (or an MFA challenge returned). Failures end in the coded failure response
    and never create a session.

    Args:
        auth: The facade surface.
        feature: The built OAuth feature with providers, state store and settings.
        request: The callback request.
        db: The database session.
        provider: The provider name from the URL.
        code: The authorization code, if the provider sent one.
        state: The ``state`` query parameter.
        error: The provider's ``error`` query parameter, if any.

    Returns:
        A redirect or JSON response, as ``feature.response_mode`` selects.

    Raises:
        StoreUnavailableError: The state store is unreachable.
    """
    client = feature.provider(provider)
    if error or not code or not state:
        return failure_response(feature, OAUTH_FAILED, provider=provider)

    # Checked before the stored state is touched, so a callback URL replayed in another
    # browser neither signs that browser in nor burns the owner's state.
    cookie = request.cookies.get(OAUTH_STATE_COOKIE_NAME, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), state.encode()):
        return failure_response(feature, INVALID_STATE, provider=provider)
    # Consumed atomically: two callbacks racing with one state cannot both pass.
    stored = await feature.state_store.get_and_delete(state, OAuthState)
    if stored is None or stored.provider != provider:
        return failure_response(feature, INVALID_STATE, provider=provider)

    info = await _fetch_profile(client, code, stored)
    if info is None:
        return failure_response(feature, OAUTH_FAILED, provider=provider)

    try:
        user, created = await feature.service.get_or_create_user(info, db)
    except OAuthAccountException as exc:
        return failure_response(feature, exc.code, provider=provider)

    repo = auth.repo
    context = HookContext(
        ip_address=get_client_ip(request, auth.runtime.trusted_proxy_hops),
        user_agent=request.headers.get("user-agent"),
        transport=OAUTH_LOGIN_TYPE,
        request=request,
    )
    if created:
        await _fire_with_db(auth, db, user, "on_after_register", context=context)
    if not repo.is_active(user):
        return failure_response(feature, ACCOUNT_INACTIVE, provider=provider)
    await _fire_with_db(auth, db, user, "on_oauth_login", info, context=context, created=created)

    redirect_url = safe_redirect_path(stored.redirect_to, default=feature.default_redirect)
    metadata = {LOGIN_TYPE_META_KEY: OAUTH_LOGIN_TYPE, OAUTH_PROVIDER_META_KEY: provider}

    # --- The session does not exist yet. ---
    # Second-factor step: with MfaConfig(oauth=True) the MFA service may start a
    # challenge here instead of a session. /mfa/verify later calls the session
    # transport's complete_login with this metadata and returns redirect_url.
    challenge = await _start_mfa_challenge(auth, feature, db, user, request, metadata, redirect_url)
    if challenge is not None:
        return _challenge_response(feature, challenge)

    carrier = Response()
    body = await feature.session_transport.complete_login(
        request, carrier, user, {"metadata": metadata}
    )
    logger.info(
        "OAuth sign-in user_id=%s provider=%s created=%s", repo.user_id(user), provider, created
    )
    content = {
        "user": {
            "user_id": repo.user_id(user),
            "username": repo.get(user, "username"),
            "email": repo.get(user, "email"),
            "is_superuser": repo.is_superuser(user),
        },
        "csrf_token": body.get("csrf_token"),
        "redirect_to": redirect_url,
    }
    return finish(feature, carrier, content, redirect_url)


async def _fetch_profile(
    client: AbstractOAuthProvider, code: str, stored: OAuthState
) -> OAuthUserInfo | None:
    """Exchange the code and read the profile; ``None`` when the provider failed."""
    httpx = import_httpx()
    try:
        tokens = await client.exchange_code(code, stored.code_verifier)
        info = await client.fetch_profile(tokens)
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        # Only the class and the provider's own message: never a token or the code.
        logger.warning(
            "OAuth provider %s failed during the callback: %s: %s",
            client.provider_name,
            type(exc).__name__,
            _describe(exc),
        )
        return None
    # The route's provider name decides the linking column, whatever a custom
    # provider put into its profile.
    if info.provider != stored.provider:
        info = info.model_copy(update={"provider": stored.provider})
    return info


def _describe(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status is not None:
        return f"HTTP {status}"
    return str(exc)[:200]


async def _fire_with_db(
    auth: AuthSurface, db: AsyncSession, user: Any, name: str, *args: Any, **kwargs: Any
) -> None:
    """Fire a hook given ``db``; roll back what it left uncommitted if it raised."""
    if not await auth.hooks.fire(name, auth.repo.to_dict(user), *args, db=db, **kwargs):
        await db.rollback()
        await auth.repo.refresh_if_expired(db, user)


async def _start_mfa_challenge(
    auth: AuthSurface,
    feature: OAuthFeature,
    db: AsyncSession,
    user: Any,
    request: Request,
    metadata: dict[str, Any],
    redirect_url: str,
) -> dict[str, Any] | None:
    """Return the MFA challenge body, or ``None`` when the sign-in needs no code."""
    mfa = auth.runtime.mfa
    if mfa is None:
        return None
    challenge: dict[str, Any] | None = await mfa.challenge_oauth_login(
        db,
        user,
        request=request,
        transport=feature.session_transport.name,
        redirect_to=redirect_url,
        metadata=metadata,
    )
    return challenge


def _challenge_response(feature: OAuthFeature, challenge: dict[str, Any]) -> Response:
    if feature.response_mode == "json":
        response: Response = json_response(challenge)
    else:
        token = challenge.get("challenge", "")
        response = redirect(f"{feature.default_redirect}#mfa_challenge={token}")
    clear_state_cookie(feature, response)
    return response
