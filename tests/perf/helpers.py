"""Requests and User-Agent strings shared by the cost tests."""

from __future__ import annotations

from starlette.requests import Request

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"


def login_request(user_agent: str = CHROME) -> Request:
    """A bare login request, for creating sessions without the HTTP login route."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/login",
        "headers": [(b"user-agent", user_agent.encode())],
        "client": ("127.0.0.1", 50000),
        "query_string": b"",
    }
    return Request(scope)
