"""Parsing helpers of the bearer transport: the header, scope claims and settings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request

from crudauth.transports.bearer.constants import AUTHENTICATE_SCHEME, SCOPES_CLAIM

__all__ = ["_bearer_credentials", "_require_positive", "_scope_tuple", "_scopes_claim"]


def _bearer_credentials(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    # Another scheme (e.g. Basic) belongs to some other transport and is no error here.
    if scheme.lower() != AUTHENTICATE_SCHEME.lower() or not token:
        return None
    return token


def _scopes_claim(claims: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Return the ``scopes`` claim as a tuple, or ``None`` if not a list of strings."""
    scopes = claims.get(SCOPES_CLAIM, [])
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        return None
    return tuple(scopes)


def _require_positive(parameter: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{parameter} must be a positive whole number, not {value!r}")


def _scope_tuple(parameter: str, scopes: Iterable[str] | None) -> tuple[str, ...]:
    if scopes is None:
        return ()
    if isinstance(scopes, str):
        raise ValueError(f"{parameter} must be a list of scope names, not the string {scopes!r}")
    result = tuple(scopes)
    for scope in result:
        if not isinstance(scope, str) or scope.split() != [scope]:
            raise ValueError(
                f"{parameter} contains {scope!r}; a scope is a non-empty string without spaces"
            )
    return result
