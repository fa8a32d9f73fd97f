"""Conventions every crudauth route follows, applied where the routers are assembled."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel

from crudauth.utils.caching import mark_no_store
from crudauth.utils.validation_errors import mark_encodable_errors

__all__ = ["ErrorResponse", "finish_routes"]

_UNPROCESSABLE = 422


class ErrorResponse(BaseModel):
    """Error body: a message, or the field errors of request validation."""

    detail: str | list[dict[str, Any]]


def _document_errors(route: APIRoute) -> None:
    # crudauth raises 422 with a text detail (policy and uniqueness errors) as well as
    # FastAPI's field list, so the documented schema admits both shapes.
    route.responses.setdefault(_UNPROCESSABLE, {"model": ErrorResponse})


def finish_routes(router: APIRouter) -> APIRouter:
    """Apply the route conventions to ``router`` and the routers it includes.

    Every route sends ``Cache-Control: no-store``, documents its 422 body as
    ``ErrorResponse``, and replaces lone surrogates in the input its 422 errors echo.
    Routes are changed in place.

    Args:
        router: The router to finish.

    Returns:
        ``router`` itself, for chaining.
    """
    for route in router.routes:
        if isinstance(route, APIRoute):
            mark_no_store(route)
            # Stops a lone surrogate echoed in a 422 body from ending in a 500.
            mark_encodable_errors(route)
            _document_errors(route)
            continue
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            finish_routes(included)
    return router
