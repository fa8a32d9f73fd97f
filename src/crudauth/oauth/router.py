"""``GET /oauth/{provider}/authorize`` and ``GET /oauth/{provider}/callback``."""

# No postponed annotations here: FastAPI must see the real dependency signatures.

from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from crudauth.constants import OAUTH_STATE_TTL_SECONDS
from crudauth.oauth.callback import run_callback
from crudauth.oauth.constants import OAUTH_AUTHORIZE_ACTION
from crudauth.oauth.paths import join_path
from crudauth.oauth.responses import json_response, redirect, set_state_cookie
from crudauth.oauth.schemas import OAuthState
from crudauth.oauth.wiring import OAuthFeature
from crudauth.protocols import AuthSurface

__all__ = ["build_oauth_router"]


def build_oauth_router(auth: AuthSurface, feature: OAuthFeature) -> APIRouter:
    """Build the authorize and callback routes under the configured prefix.

    The authorize route is throttled per IP under the ``oauth_authorize`` limit.

    Args:
        auth: The facade surface.
        feature: The built OAuth feature.

    Returns:
        A router with ``oauth_authorize`` and ``oauth_callback``.
    """
    paths = feature.paths
    router = APIRouter(prefix=paths["prefix"], tags=["oauth"])
    throttle = auth.rate_limit(OAUTH_AUTHORIZE_ACTION)

    async def authorize(
        provider: str, request: Request, redirect_to: str | None = None
    ) -> Response:
        """Send the browser to the provider, bound to it by the state cookie."""
        client = feature.provider(provider)
        authorization = client.get_authorization_url()
        state = authorization["state"]
        # redirect_to is stored raw and validated at the callback, where it is used.
        record = OAuthState(
            state=state,
            provider=provider,
            code_verifier=authorization.get("code_verifier"),
            redirect_to=redirect_to,
        )
        await feature.state_store.create(
            record, session_id=state, expiration=OAUTH_STATE_TTL_SECONDS
        )
        if feature.response_mode == "json":
            response: Response = json_response({"url": authorization["url"]})
        else:
            response = redirect(authorization["url"])
        set_state_cookie(feature, response, state)
        return response

    async def callback(
        provider: str,
        request: Request,
        code: str | None = None,
        state: str | None = None,
        error: str | None = None,
        db: Any = Depends(auth.session),
    ) -> Response:
        """Finish the sign-in: check the state, link or create the user, sign in."""
        return await run_callback(
            auth, feature, request, db, provider=provider, code=code, state=state, error=error
        )

    router.add_api_route(
        join_path(paths["authorize_path"]),
        authorize,
        methods=["GET"],
        name="oauth_authorize",
        dependencies=[Depends(throttle)],
    )
    router.add_api_route(
        join_path(paths["callback_path"]), callback, methods=["GET"], name="oauth_callback"
    )
    return router
