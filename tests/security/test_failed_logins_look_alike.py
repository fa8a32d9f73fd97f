"""Failed logins cost the same and read the same, whatever made them fail.

An unknown identifier, a wrong password, a disabled account and an account without a
password each pay exactly one bcrypt check at the real cost and get one identical 401.
A lockout returns the same 429 for an unknown identifier as for a real account.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import bcrypt
import pytest

import crudauth.utils.hashing as hashing
from crudauth import SessionTransport
from crudauth.ratelimit import LockoutConfig
from support import login

BAD_CREDENTIALS = b'{"detail":"Incorrect username or password"}'
SAMPLES_PER_CASE = 4
# The medians of the other cases must stay within this factor of a wrong password's.
MAX_MEDIAN_RATIO = 2.0
CASES = {
    "unknown": ("ghost@example.com", "Whatever-Pw-1"),
    "wrong_password": ("alice@example.com", "Not-Her-Pw-1"),
    "disabled": ("frank@example.com", "Not-His-Pw-1"),
    "no_password": ("erin@example.com", "Whatever-Pw-1"),
}


async def accounts_app(make_app: Any, lockout: LockoutConfig) -> Any:
    test_app = await make_app(transports=[SessionTransport()], lockout=lockout)
    await test_app.create_user()
    await test_app.create_user(
        email="frank@example.com", username="frank", password="Franks-Pw-12", is_active=False
    )
    await test_app.create_user(email="erin@example.com", username="erin", password=None)
    return test_app


class CheckCount:
    """Counts bcrypt checks."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        monkeypatch.setattr(bcrypt, "checkpw", self._counting(bcrypt.checkpw))

    def _counting(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any) -> Any:
            self.count += 1
            return function(*args)

        return counted


@pytest.mark.slow
async def test_failures_cost_one_check_and_match(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "BCRYPT_ROUNDS", 12)
    test_app = await accounts_app(make_app, LockoutConfig(max_attempts=1000))
    checks = CheckCount(monkeypatch)
    durations: dict[str, list[float]] = {case: [] for case in CASES}
    async with test_app.client() as client:
        for _ in range(SAMPLES_PER_CASE):
            for case, (identifier, password) in CASES.items():
                before = checks.count
                started = time.perf_counter()
                response = await login(client, identifier, password)
                durations[case].append(time.perf_counter() - started)
                assert response.status_code == 401, (case, response.text)
                assert response.content == BAD_CREDENTIALS, case
                assert checks.count - before == 1, case

    reference = statistics.median(durations["wrong_password"])
    for case in ("unknown", "disabled", "no_password"):
        ratio = statistics.median(durations[case]) / reference
        assert 1 / MAX_MEDIAN_RATIO < ratio < MAX_MEDIAN_RATIO, (case, durations)


async def failures_until_locked(test_app: Any, identifier: str, attempts: int) -> list[Any]:
    async with test_app.client() as client:
        return [await login(client, identifier, f"Wrong-Pw-{n}") for n in range(attempts)]


async def test_lockout_hides_whether_the_account_exists(make_app: Any) -> None:
    lockout = LockoutConfig()
    attempts = lockout.max_attempts + 2
    real = await failures_until_locked(
        await accounts_app(make_app, lockout), "alice@example.com", attempts
    )
    ghost = await failures_until_locked(
        await accounts_app(make_app, lockout), "ghost@example.com", attempts
    )

    assert [r.status_code for r in real] == [r.status_code for r in ghost]
    assert [r.status_code for r in real][-2:] == [429, 429]
    assert real[0].content == ghost[0].content == BAD_CREDENTIALS
    for mine, theirs in zip(real[-2:], ghost[-2:], strict=True):
        assert mine.content == theirs.content
        assert "retry-after" in mine.headers
        assert "retry-after" in theirs.headers
        assert sorted(mine.headers.keys()) == sorted(theirs.headers.keys())
