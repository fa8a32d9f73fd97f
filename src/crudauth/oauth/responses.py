"""Responses of the OAuth routes: the state cookie, failures and final redirects."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, RedirectResponse, Response

from crudauth.oauth.constants import (
    INVALID_STATE,
    INVALID_STATE_DETAIL,
    OAUTH_STATE_COOKIE_MAX_AGE,
    OAUTH_STATE_COOKIE_NAME,
)

if TYPE_CHECKING:
    from crudauth.oauth.wiring import OAuthFeature

__all__ = [
    "clear_state_cookie",
    "copy_cookies",
    "failure_response",
    "finish",
    "set_state_cookie",
]

security_logger = logging.getLogger("crudauth.security")
# Sign-in steps must never be replayed from a cache: each carries one-time values.
_NO_STORE = {"Cache-Control": "no-store"}


def set_state_cookie(feature: OAuthFeature, response: Response, state: str) -> None:
    """Bind the flow to this browser: only it can present ``state`` at the callback.

    Args:
        feature: The OAuth feature, whose session transport gives the cookie policy.
        response: The response that sets the cookie.
        state: The flow's ``state`` value.
    """
    policy = feature.session_transport.cookie_config()
    response.set_cookie(
        OAUTH_STATE_COOKIE_NAME,
        state,
        max_age=OAUTH_STATE_COOKIE_MAX_AGE,
        httponly=True,
        # Lax, not Strict: the provider's redirect back is a cross-site navigation.
        samesite="lax",
        secure=policy.secure,
        path=policy.path,
    )


def clear_state_cookie(feature: OAuthFeature, response: Response) -> None:
    """Expire the state cookie with the attributes it was set with.

    Args:
        feature: The OAuth feature.
        response: The response that expires the cookie.
    """
    policy = feature.session_transport.cookie_config()
    response.delete_cookie(
        OAUTH_STATE_COOKIE_NAME,
        httponly=True,
        samesite="lax",
        secure=policy.secure,
        path=policy.path,
    )


def redirect(url: str) -> RedirectResponse:
    """Return a 307 to ``url`` that no cache keeps.

    Args:
        url: The redirect target.
    """
    return RedirectResponse(url, status_code=307, headers=_NO_STORE)


def json_response(content: Any, status_code: int = 200) -> JSONResponse:
    """Return a JSON response that no cache keeps.

    Args:
        content: The JSON body.
        status_code: The HTTP status.
    """
    return JSONResponse(content, status_code=status_code, headers=_NO_STORE)


def failure_response(feature: OAuthFeature, code: str, *, provider: str) -> Response:
    """Return the coded failure: a redirect with ``?error=`` or a JSON 400.

    Every failure is logged on ``crudauth.security``. Every failure clears the state
    cookie except the JSON ``invalid_state`` 400, which may come from another browser
    than the one that owns the flow.

    Args:
        feature: The OAuth feature, for the response mode and the redirect target.
        code: The failure code, such as ``"invalid_state"``.
        provider: The provider name, for the log line.
    """
    security_logger.warning(
        "OAuth callback failed reason=%s provider=%s",
        code,
        provider,
        extra={"event": "oauth_failed", "reason": code, "provider": provider},
    )
    if feature.response_mode == "json":
        if code == INVALID_STATE:
            return json_response({"detail": INVALID_STATE_DETAIL}, status_code=400)
        response: Response = json_response({"detail": code}, status_code=400)
    else:
        target = feature.default_redirect
        separator = "&" if "?" in target else "?"
        response = redirect(f"{target}{separator}error={code}")
    clear_state_cookie(feature, response)
    return response


def copy_cookies(source: Response, target: Response) -> Response:
    """Append every ``Set-Cookie`` header of ``source`` to ``target``.

    Args:
        source: The response whose cookies are copied.
        target: The response that receives them.

    Returns:
        ``target``.
    """
    for name, value in source.raw_headers:
        if name == b"set-cookie":
            target.raw_headers.append((name, value))
    return target


def finish(feature: OAuthFeature, carrier: Response, content: Any, redirect_url: str) -> Response:
    """Build the success response around the cookies ``carrier`` collected.

    Args:
        feature: The OAuth feature, for the response mode.
        carrier: The response the session transport set its cookies on.
        content: The JSON body in ``json`` mode.
        redirect_url: The redirect target in ``redirect`` mode.

    Returns:
        A JSON response or a 307 redirect, with the state cookie expired.
    """
    if feature.response_mode == "json":
        response: Response = json_response(content)
    else:
        response = redirect(redirect_url)
    clear_state_cookie(feature, response)
    return copy_cookies(carrier, response)
