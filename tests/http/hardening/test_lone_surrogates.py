"""A lone UTF-16 surrogate in a JSON string gets a 4xx with a JSON detail, never a 500.

A surrogate such as ``\\ud800`` is legal in a JSON string but has no UTF-8 encoding.
The bodies are sent as bytes because httpx's ``json=`` cannot encode such a string.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from crudauth import BearerTransport, EmailConfig, SessionTransport
from mfa_support import mfa_config, mfa_model
from recovery_support import FRONTEND, RecordingSender
from support import csrf_headers, login

# Each pair: the JSON escape text sent, and the echoed value with U+FFFD in its place.
SURROGATES = [
    ("\\ud800", "\ufffd"),
    ("\\udfff", "\ufffd"),
    ("\\udcff", "\ufffd"),
    ("a\\ud83d", "a\ufffd"),
]
SURROGATE_IDS = ["ud800", "udfff", "udcff", "half-pair"]

INVALID_REFRESH = (401, {"detail": "Invalid or expired refresh token"})
INVALID_RECOVERY_TOKEN = (400, {"detail": "Invalid or expired token"})

# Route, token field, other fields, and the response to any invalid token.
TOKEN_ROUTES = [
    ("/refresh", "refresh_token", {}, INVALID_REFRESH),
    (
        "/password/reset-confirm",
        "token",
        {"new_password": "Correct-Horse-2"},
        INVALID_RECOVERY_TOKEN,
    ),
    ("/email/verify-confirm", "token", {}, INVALID_RECOVERY_TOKEN),
    ("/email/change-confirm", "token", {}, INVALID_RECOVERY_TOKEN),
]

# Route, field that carries the surrogate, other fields, and whether to sign in first.
VALIDATED_FIELDS = [
    ("/register", "email", {"username": "carol", "password": "Correct-Horse-2"}, False),
    ("/password/reset-request", "email", {}, False),
    ("/email/change-request", "new_email", {"password": "Correct-Horse-1"}, True),
    ("/mfa/verify", "challenge", {"code": "123456"}, False),
    ("/mfa/verify", "code", {"challenge": "unknown-challenge"}, False),
    ("/mfa/challenge", "challenge", {}, False),
    ("/mfa/totp/setup", "password", {}, True),
    ("/mfa/totp/confirm", "code", {}, True),
    ("/mfa/totp/disable", "code", {}, True),
    ("/mfa/recovery-codes/regenerate", "code", {}, True),
]


def json_body(**fields: str) -> bytes:
    """Return a JSON object whose string values are written verbatim, escapes included."""
    members = ",".join(f'"{name}":"{value}"' for name, value in fields.items())
    return ("{" + members + "}").encode("ascii")


async def post_json(
    client: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(
        path, content=body, headers={"Content-Type": "application/json", **(headers or {})}
    )


async def build_app(make_app: Any) -> Any:
    """Build an app with bearer refresh in the body, recovery by email and MFA."""
    test_app = await make_app(
        model=mfa_model(),
        mfa=mfa_config(),
        transports=[SessionTransport(), BearerTransport(refresh="body")],
        email=EmailConfig(sender=RecordingSender(), frontend_url=FRONTEND),
    )
    await test_app.create_user()
    return test_app


def echoed_inputs(response: httpx.Response, field: str) -> list[Any]:
    errors = response.json()["detail"]
    return [error["input"] for error in errors if error["loc"] == ["body", field]]


@pytest.mark.parametrize("surrogate", [text for text, _ in SURROGATES], ids=SURROGATE_IDS)
@pytest.mark.parametrize(
    ("path", "field", "others", "expected"), TOKEN_ROUTES, ids=[r[0] for r in TOKEN_ROUTES]
)
async def test_surrogate_token_is_invalid_token(
    make_app: Any,
    path: str,
    field: str,
    others: dict[str, str],
    expected: tuple[int, dict[str, str]],
    surrogate: str,
) -> None:
    test_app = await build_app(make_app)
    async with test_app.client() as client:
        garbage = await post_json(client, path, json_body(**{field: "not-a-token"}, **others))
        response = await post_json(client, path, json_body(**{field: surrogate}, **others))

    status, detail = expected
    assert garbage.status_code == status, garbage.text
    assert garbage.json() == detail
    assert response.status_code == status, response.text
    assert response.json() == detail


@pytest.mark.parametrize(("surrogate", "replaced"), SURROGATES, ids=SURROGATE_IDS)
@pytest.mark.parametrize(
    ("path", "field", "others", "signed_in"),
    VALIDATED_FIELDS,
    ids=[f"{r[0]}:{r[1]}" for r in VALIDATED_FIELDS],
)
async def test_surrogate_field_is_422(
    make_app: Any,
    path: str,
    field: str,
    others: dict[str, str],
    signed_in: bool,
    surrogate: str,
    replaced: str,
) -> None:
    test_app = await build_app(make_app)
    async with test_app.client() as client:
        headers: dict[str, str] = {}
        if signed_in:
            assert (await login(client)).status_code == 200
            headers = csrf_headers(client)
        response = await post_json(client, path, json_body(**{field: surrogate}, **others), headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    assert echoed_inputs(response, field) == [replaced]


async def test_surrogate_reaches_custom_handler(make_app: Any) -> None:
    test_app = await build_app(make_app)
    seen: list[RequestValidationError] = []

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        seen.append(exc)
        content = {"detail": "Invalid request", "errors": exc.errors(), "body": exc.body}
        return JSONResponse(jsonable_encoder(content), status_code=400)

    app: FastAPI = test_app.app
    app.add_exception_handler(RequestValidationError, handler)
    async with test_app.client() as client:
        response = await post_json(client, "/mfa/challenge", json_body(challenge="a\\ud800"))

    assert response.status_code == 400, response.text
    assert response.json()["detail"] == "Invalid request"
    assert response.json()["errors"][0]["input"] == "a\ufffd"
    assert response.json()["body"] == {"challenge": "a\ufffd"}
    assert len(seen) == 1


async def test_surrogate_in_field_name_is_422(make_app: Any) -> None:
    test_app = await build_app(make_app)
    async with test_app.client() as client:
        # The required email is missing, so the error echoes the whole body, keys too.
        body = json_body(**{"x\\ud800": "a\\udfff"})
        response = await post_json(client, "/password/reset-request", body)

    assert response.status_code == 422, response.text
    assert echoed_inputs(response, "email") == [{"x\ufffd": "a\ufffd"}]
