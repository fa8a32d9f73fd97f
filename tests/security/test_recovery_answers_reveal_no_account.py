"""Recovery and signup responses look the same for existing and unknown accounts.

Body, status, header names and cookies match within each pair. The timing tests keep
the real bcrypt cost, check that both sides do the same hashing work, and measure up
to the moment the response body is sent, which is all a client can observe. Delivery
runs after that moment, so a slow mailer cannot show in the answer.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import bcrypt
import pytest

import crudauth.utils.hashing as hashing
from crudauth import EmailConfig, EmailContext, EmailSender
from recovery_support import FRONTEND
from support import BOB, csrf_headers, login

REQUESTS_PER_SIDE = 30
TIMED_PER_SIDE = 6
# The case's bound. Requests that hash get a share of their own duration on top,
# because one bcrypt check varies by tens of ms on a loaded 2-core machine.
MAX_MEDIAN_GAP_SECONDS = 0.05
HASHING_JITTER_SHARE = 0.25
SLOW_MAILER_SECONDS = 0.3

Request = Callable[[int], Awaitable[Any]]


class SlowSender(EmailSender):
    """A mailer that takes ``delay`` seconds per message and notes when each began."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.started: list[float] = []

    async def send(
        self, *, to: str, subject: str, body: str, kind: Any, context: EmailContext
    ) -> None:
        self.started.append(time.perf_counter())
        await asyncio.sleep(self.delay)


async def recovery_app(secure_app: Any, sender: EmailSender | None = None) -> Any:
    overrides: dict[str, Any] = {}
    if sender is not None:
        overrides["email"] = EmailConfig(sender=sender, frontend_url=FRONTEND)
    test_app = await secure_app(oauth=False, accounts=False, **overrides)
    await test_app.create_user(email_verified=False)
    await test_app.create_user(
        email=BOB["email"], username=BOB["username"], password=BOB["password"], email_verified=True
    )
    return test_app


def pairs() -> dict[str, tuple[str, Request, Request]]:
    """Per step: the path and the request bodies of the existing and the unknown side."""

    def fixed(body: dict[str, Any]) -> Request:
        async def build(_n: int) -> Any:
            return body

        return build

    def signup(email: Callable[[int], str], prefix: str) -> Request:
        async def build(n: int) -> Any:
            return {"email": email(n), "username": f"{prefix}_{n}", "password": "Same-Pw-123"}

        return build

    def change(email: Callable[[int], str]) -> Request:
        async def build(n: int) -> Any:
            return {"new_email": email(n), "password": BOB["password"]}

        return build

    return {
        "reset": (
            "/password/reset-request",
            fixed({"email": "alice@example.com"}),
            fixed({"email": "nobody@example.com"}),
        ),
        "verify": (
            "/email/verify-request",
            fixed({"email": "alice@example.com"}),
            fixed({"email": "nobody@example.com"}),
        ),
        "register": (
            "/register",
            signup(lambda n: "alice@example.com", "taken"),
            signup(lambda n: f"fresh{n}@example.com", "fresh"),
        ),
        "change": (
            "/email/change-request",
            change(lambda n: "alice@example.com"),
            change(lambda n: f"unused{n}@example.com"),
        ),
    }


EXPECTED_STATUS = {"reset": 200, "verify": 200, "register": 202, "change": 200}


def comparable_headers(response: Any) -> dict[str, str]:
    return {
        name: value
        for name, value in response.headers.items()
        if not name.lower().startswith("x-ratelimit-")
    }


@pytest.mark.parametrize("step", ["reset", "verify", "register", "change"])
async def test_pair_answers_are_identical(secure_app: Any, step: str) -> None:
    test_app = await recovery_app(secure_app)
    async with test_app.client() as bob:
        assert (await login(bob, BOB["email"], BOB["password"])).status_code == 200
        headers = csrf_headers(bob) if step == "change" else {}
        path, existing, unknown = pairs()[step]
        answers: dict[str, list[Any]] = {"existing": [], "unknown": []}
        for n in range(REQUESTS_PER_SIDE):
            for side, build in (("existing", existing), ("unknown", unknown)):
                response = await bob.post(path, json=await build(n), headers=headers)
                answers[side].append(response)

    reference = answers["existing"][0]
    assert reference.status_code == EXPECTED_STATUS[step], reference.text
    for response in answers["existing"] + answers["unknown"]:
        assert response.status_code == reference.status_code, response.text
        assert response.content == reference.content
        assert sorted(response.headers.keys()) == sorted(reference.headers.keys())
        assert comparable_headers(response) == comparable_headers(reference)
        assert response.headers.get_list("set-cookie") == []


async def post_until_body(
    app: Any, path: str, body: Any, headers: dict[str, str], cookies: str
) -> tuple[int, float, float]:
    """POST ``body`` over raw ASGI; return the status, when the body was sent, and
    when the app returned (after its background tasks)."""
    payload = json.dumps(body).encode()
    raw_headers = [
        (b"host", b"testserver"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if cookies:
        raw_headers.append((b"cookie", cookies.encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
    }
    sent = False
    status = 0
    body_sent_at = 0.0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body_sent_at
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            body_sent_at = time.perf_counter()

    await app(scope, receive, send)
    return status, body_sent_at, time.perf_counter()


class HashWork:
    """Counts bcrypt hashes and checks."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for name in ("hashpw", "checkpw"):
            monkeypatch.setattr(bcrypt, name, self._counting(getattr(bcrypt, name)))

    def _counting(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any) -> Any:
            self.count += 1
            return function(*args)

        return counted


async def session_cookies(test_app: Any) -> tuple[str, dict[str, str]]:
    async with test_app.client() as bob:
        assert (await login(bob, BOB["email"], BOB["password"])).status_code == 200
        cookies = "; ".join(f"{name}={value}" for name, value in bob.cookies.items())
        return cookies, csrf_headers(bob)


@pytest.mark.slow
@pytest.mark.parametrize("step", ["reset", "verify", "register", "change"])
async def test_pair_answers_take_the_same_time(
    secure_app: Any, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "BCRYPT_ROUNDS", 12)
    test_app = await recovery_app(secure_app)
    cookies, headers = await session_cookies(test_app)
    if step != "change":
        cookies, headers = "", {}
    path, existing, unknown = pairs()[step]
    work = HashWork(monkeypatch)
    durations: dict[str, list[float]] = {"existing": [], "unknown": []}
    hashes: dict[str, set[int]] = {"existing": set(), "unknown": set()}
    for n in range(TIMED_PER_SIDE):
        for side, build in (("existing", existing), ("unknown", unknown)):
            body = await build(n)
            before = work.count
            started = time.perf_counter()
            status, body_sent_at, _done = await post_until_body(
                test_app.app, path, body, headers, cookies
            )
            assert status == EXPECTED_STATUS[step]
            durations[side].append(body_sent_at - started)
            hashes[side].add(work.count - before)

    assert hashes["existing"] == hashes["unknown"]
    median_existing = statistics.median(durations["existing"])
    median_unknown = statistics.median(durations["unknown"])
    bound = MAX_MEDIAN_GAP_SECONDS
    if hashes["existing"] != {0}:
        bound += HASHING_JITTER_SHARE * max(median_existing, median_unknown)
    assert abs(median_existing - median_unknown) < bound, durations


@pytest.mark.slow
@pytest.mark.parametrize("step", ["reset", "verify", "register", "change"])
async def test_answer_is_sent_before_slow_delivery(secure_app: Any, step: str) -> None:
    sender = SlowSender(SLOW_MAILER_SECONDS)
    test_app = await recovery_app(secure_app, sender=sender)
    cookies, headers = await session_cookies(test_app)
    if step != "change":
        cookies, headers = "", {}
    path, existing, unknown = pairs()[step]
    # The side that sends mail: the existing account, or for a change the free address.
    build = unknown if step == "change" else existing
    started = time.perf_counter()
    status, body_sent_at, done = await post_until_body(
        test_app.app, path, await build(0), headers, cookies
    )
    assert status == EXPECTED_STATUS[step]
    [delivery_started] = sender.started
    assert body_sent_at < delivery_started
    assert body_sent_at - started < SLOW_MAILER_SECONDS
    assert done - started >= SLOW_MAILER_SECONDS
