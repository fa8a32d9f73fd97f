"""Routes marked by ``mark_encodable_errors``: 422 errors without lone surrogates."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from crudauth.utils.validation_errors import mark_encodable_errors, replace_surrogates

SURROGATE_ERROR = {"type": "string_unicode", "loc": ("body", "x\ud800"), "input": "a\udfff"}
CLEAN_ERROR = {"type": "missing", "loc": ("body", "name"), "input": {}}


class NameIn(BaseModel):
    name: str


def build_router(raised: Exception | None = None) -> APIRouter:
    """Return a router with ``POST /names``, which raises ``raised`` when given."""
    router = APIRouter()

    @router.post("/names", response_model=NameIn, status_code=201)
    async def create_name(body: NameIn) -> NameIn:
        if raised is not None:
            raise raised
        return body

    return router


def marked(router: APIRouter) -> APIRouter:
    for route in router.routes:
        assert isinstance(route, APIRoute)
        mark_encodable_errors(route)
    return router


def recording_app(router: APIRouter, seen: list[RequestValidationError]) -> FastAPI:
    """Return an app whose own 422 handler records each error it renders."""
    app = FastAPI()

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        seen.append(exc)
        return JSONResponse({"detail": "Invalid request"}, status_code=422)

    app.add_exception_handler(RequestValidationError, handler)
    app.include_router(router)
    return app


async def post_name(app: FastAPI, content: bytes) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        return await client.post(
            "/names", content=content, headers={"Content-Type": "application/json"}
        )


def test_replace_surrogates_in_nested_values() -> None:
    value: dict[str, Any] = {
        "x\ud800": ["a\udfff", ("loc", "\udcff")],
        "pair": "\ud83d\ude00",
        "text": "\u00e9\U0001f600",
        "count": 1,
        "raw": b"\xff",
    }

    assert replace_surrogates(value) == {
        "x\ufffd": ["a\ufffd", ("loc", "\ufffd")],
        "pair": "\ufffd\ufffd",
        "text": "\u00e9\U0001f600",
        "count": 1,
        "raw": b"\xff",
    }


async def test_surrogate_body_gets_default_422() -> None:
    app = FastAPI()
    app.include_router(marked(build_router()))

    response = await post_name(app, b'{"nam\\ud800": 1}')

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["input"] == {"nam\ufffd": 1}


async def test_surrogate_error_copy_keeps_context() -> None:
    original = RequestValidationError(
        [SURROGATE_ERROR], body={"x\ud800": "a\udfff"}, endpoint_ctx={"path": "POST /names"}
    )
    seen: list[RequestValidationError] = []
    app = recording_app(marked(build_router(original)), seen)

    response = await post_name(app, b'{"name": "alice"}')

    assert response.status_code == 422, response.text
    assert len(seen) == 1
    assert seen[0] is not original
    assert seen[0].errors() == [
        {"type": "string_unicode", "loc": ("body", "x\ufffd"), "input": "a\ufffd"}
    ]
    assert seen[0].body == {"x\ufffd": "a\ufffd"}
    assert seen[0].endpoint_ctx == {"path": "POST /names"}


async def test_clean_error_raised_unchanged() -> None:
    original = RequestValidationError([CLEAN_ERROR], body={"other": 1})
    seen: list[RequestValidationError] = []
    app = recording_app(marked(build_router(original)), seen)

    response = await post_name(app, b'{"name": "alice"}')

    assert response.status_code == 422, response.text
    assert len(seen) == 1
    assert seen[0] is original


def test_marked_route_keeps_schema_and_class() -> None:
    plain = FastAPI()
    plain.include_router(build_router())
    router = marked(build_router())
    route = router.routes[0]
    assert isinstance(route, APIRoute)
    marked_class = type(route)
    with_marks = FastAPI()
    with_marks.include_router(router)

    mark_encodable_errors(route)

    assert with_marks.openapi() == plain.openapi()
    assert type(route) is marked_class
    assert issubclass(marked_class, APIRoute)
    assert route.response_model is NameIn
    assert route.status_code == 201
