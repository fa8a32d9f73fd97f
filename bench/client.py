"""A blocking HTTP client that sets up the benchmark and times single operations."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from typing import Any

from loadgen import HOST

from crudauth.transports.session.constants import CSRF_HEADER_NAME, SESSION_COOKIE_NAME


class BenchClient:
    """One keep-alive connection to the bench app."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection(HOST, port, timeout=60)

    def close(self) -> None:
        self.connection.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        expect: int = 200,
    ) -> tuple[Any, float]:
        """Send one request; return the decoded JSON body and the ms it took."""
        # The server closes idle keep-alive connections after a few seconds, and a load
        # run can leave this one idle for longer, so connect afresh (untimed) first.
        self.connection.close()
        self.connection.connect()
        started = time.perf_counter()
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != expect:
            raise RuntimeError(
                f"{method} {path} returned {response.status}, expected {expect}: {payload!r}"
            )
        return (json.loads(payload) if payload else None), elapsed

    def seed(self, username: str, count: int) -> dict[str, str]:
        """Give ``username`` ``count`` sessions; return the signed-in one."""
        body = json.dumps({"username": username, "count": count}).encode()
        seeded, _ = self.request(
            "POST", "/_bench/seed", headers={"Content-Type": "application/json"}, body=body
        )
        return dict(seeded)

    def login(self, username: str, password: str, path: str = "/login") -> tuple[Any, float]:
        form = urllib.parse.urlencode({"username": username, "password": password}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", path, headers=headers, body=form)


def cookie_headers(seeded: dict[str, str]) -> dict[str, str]:
    """Return the headers of a browser request in the seeded session."""
    return {"Cookie": f"{SESSION_COOKIE_NAME}={seeded['session_id']}"}


def unsafe_headers(seeded: dict[str, str]) -> dict[str, str]:
    """Return the headers of a CSRF-checked browser request in the seeded session."""
    return {**cookie_headers(seeded), CSRF_HEADER_NAME: seeded["csrf_token"]}
