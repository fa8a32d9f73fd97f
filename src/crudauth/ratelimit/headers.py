"""Rate-limit headers: recording them per request and copying them onto replies."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crudauth.ratelimit.constants import RATE_LIMIT_HEADERS_STATE

__all__ = ["RateLimitHeadersMiddleware", "record_rate_limit_headers"]

LIMIT = "X-RateLimit-Limit"
REMAINING = "X-RateLimit-Remaining"
RETRY_AFTER = "Retry-After"


def _remaining(headers: Mapping[str, str]) -> int:
    return int(headers.get(REMAINING, "0"))


def record_rate_limit_headers(request: HTTPConnection, headers: Mapping[str, str]) -> None:
    """Keep ``headers`` on ``request.state`` unless a tighter budget was recorded first.

    When several limiters count one request, the set with the smallest remaining
    budget wins. On a tie, a set carrying ``Retry-After`` replaces one without it.

    Args:
        request: The request being counted.
        headers: The limit headers of one limiter, with ``X-RateLimit-Remaining``.
    """
    current: Mapping[str, str] | None = getattr(request.state, RATE_LIMIT_HEADERS_STATE, None)
    new = dict(headers)
    if current is not None:
        if _remaining(new) > _remaining(current):
            return
        if _remaining(new) == _remaining(current) and (
            RETRY_AFTER in current or RETRY_AFTER not in new
        ):
            return
    setattr(request.state, RATE_LIMIT_HEADERS_STATE, new)


class RateLimitHeadersMiddleware:
    """Copy the recorded rate-limit headers onto responses that lack them.

    A request that passed a limiter and then failed later (401, 404, 422) still shows
    the client its budget. Responses that already carry ``X-RateLimit-Limit`` are left
    as they are. Only HTTP requests are touched.

    Args:
        app: The ASGI app to wrap.

    Example:
        ```python
        app.add_middleware(RateLimitHeadersMiddleware)
        ```
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # Created here so that copies of the scope made further in share this one dict.
        state: MutableMapping[str, Any] = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                recorded = state.get(RATE_LIMIT_HEADERS_STATE)
                if recorded:
                    headers = MutableHeaders(scope=message)
                    if LIMIT not in headers:
                        for name, value in recorded.items():
                            if name not in headers:
                                headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
