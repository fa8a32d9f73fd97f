"""Request validation errors whose echoed input can always be encoded as JSON.

A JSON string may contain a lone UTF-16 surrogate such as ``"\\ud800"``, which has no
UTF-8 encoding. FastAPI's default 422 handler echoes the invalid input, so rendering
the response raises ``UnicodeEncodeError`` and the client gets a 500. Routes marked here
replace every surrogate in the errors and body of a ``RequestValidationError`` with
U+FFFD before the app's handler, default or custom, renders the 422.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["is_utf8_encodable", "mark_encodable_errors", "replace_surrogates"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

# Surrogate code points have no UTF-8 encoding, paired or not.
_SURROGATE = re.compile("[\ud800-\udfff]")
_REPLACEMENT_CHARACTER = "\ufffd"


def is_utf8_encodable(text: str) -> bool:
    """Return whether ``text`` has a UTF-8 form, that is, contains no surrogate.

    Args:
        text: Text received from a client, a JSON body or the command line.
    """
    return _SURROGATE.search(text) is None


def replace_surrogates(value: Any) -> Any:
    """Return ``value`` with each surrogate in its strings replaced by U+FFFD.

    Strings inside dicts (keys too), lists and tuples are replaced as well. Other
    values are returned unchanged.

    Args:
        value: A validation error list, a request body or any part of them.
    """
    if isinstance(value, str):
        return _SURROGATE.sub(_REPLACEMENT_CHARACTER, value)
    if isinstance(value, dict):
        return {replace_surrogates(key): replace_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [replace_surrogates(item) for item in value]
    if isinstance(value, tuple):
        return tuple(replace_surrogates(item) for item in value)
    return value


def _encodable_errors_handler(handler: Handler) -> Handler:
    async def encodable_errors_response(request: Request) -> Response:
        try:
            return await handler(request)
        except RequestValidationError as exc:
            original_errors = list(exc.errors())
            errors = replace_surrogates(original_errors)
            body = replace_surrogates(exc.body)
            if errors == original_errors and body == exc.body:
                raise
            # FastAPI releases before endpoint_ctx existed take only errors and body.
            context = {"endpoint_ctx": exc.endpoint_ctx} if hasattr(exc, "endpoint_ctx") else {}
            # The copy is the same error minus the text that cannot be sent, so the
            # original is not chained to it.
            raise RequestValidationError(errors, body=body, **context) from None

    return encodable_errors_response


_ENCODABLE_ERRORS_CLASSES: dict[type[APIRoute], type[APIRoute]] = {}


def _encodable_errors_class(route_class: type[APIRoute]) -> type[APIRoute]:
    """Return a subclass of ``route_class`` whose handler replaces surrogates."""
    known = _ENCODABLE_ERRORS_CLASSES.get(route_class)
    if known is not None:
        return known

    def get_route_handler(self: APIRoute) -> Handler:
        return _encodable_errors_handler(route_class.get_route_handler(self))

    subclass = type(
        f"EncodableErrors{route_class.__name__}",
        (route_class,),
        {"get_route_handler": get_route_handler, "_crudauth_encodable_errors": True},
    )
    _ENCODABLE_ERRORS_CLASSES[route_class] = subclass
    return subclass


def mark_encodable_errors(route: APIRoute) -> None:
    """Make ``route`` replace lone surrogates in the input its 422 errors echo.

    The route's class is swapped for a cached subclass of itself whose handler catches
    ``RequestValidationError`` and raises a copy whose errors and body contain no
    surrogate. An error without surrogates is raised unchanged, and the app's exception
    handlers are not touched. Marking a route twice has no further effect.

    Only handlers built after the call are wrapped, as with ``mark_no_store``. An
    included router builds its handlers when it first serves a request, but a route
    added straight to an app's ``routes`` keeps the handler it was constructed with.

    Args:
        route: The route to change in place.
    """
    if not getattr(route, "_crudauth_encodable_errors", False):
        route.__class__ = _encodable_errors_class(type(route))
