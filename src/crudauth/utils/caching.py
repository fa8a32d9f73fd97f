"""Cache-Control headers that keep credential-bearing responses out of caches."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["NO_STORE", "mark_no_store"]

NO_STORE = "no-store"
_CACHE_CONTROL = "Cache-Control"

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _no_store_handler(handler: Handler) -> Handler:
    async def no_store_response(request: Request) -> Response:
        try:
            response = await handler(request)
        except HTTPException as exc:
            # Error responses pass through caches too, so they get the same header.
            exc.headers = {**(exc.headers or {}), _CACHE_CONTROL: NO_STORE}
            raise
        # Tokens, session ids and CSRF values in a body must never be replayed from a
        # shared or back-button cache.
        response.headers.setdefault(_CACHE_CONTROL, NO_STORE)
        return response

    return no_store_response


_NO_STORE_CLASSES: dict[type[APIRoute], type[APIRoute]] = {}


def _no_store_class(route_class: type[APIRoute]) -> type[APIRoute]:
    """Return a subclass of ``route_class`` whose handler adds ``no-store``."""
    known = _NO_STORE_CLASSES.get(route_class)
    if known is not None:
        return known

    def get_route_handler(self: APIRoute) -> Handler:
        return _no_store_handler(route_class.get_route_handler(self))

    subclass = type(
        f"NoStore{route_class.__name__}",
        (route_class,),
        {"get_route_handler": get_route_handler, "_crudauth_no_store": True},
    )
    _NO_STORE_CLASSES[route_class] = subclass
    return subclass


def mark_no_store(route: APIRoute) -> None:
    """Make ``route`` send ``Cache-Control: no-store`` unless it sets its own value.

    The route's class is swapped for a cached subclass of itself whose handler adds the
    header, so successful responses and ``HTTPException`` errors both carry it. Marking
    a route twice has no further effect.

    Args:
        route: The route to change in place.
    """
    if not getattr(route, "_crudauth_no_store", False):
        route.__class__ = _no_store_class(type(route))
