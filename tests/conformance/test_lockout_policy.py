"""The escalating login lockout, with an injected clock and on every backend."""

from __future__ import annotations

import types
from typing import Any

import pytest

import crudauth.ratelimit.backends.memory as memory_module
from crudauth.exceptions import StoreUnavailableError
from crudauth.ratelimit.backends.memory import MemoryRateLimiterBackend
from crudauth.ratelimit.base import RateLimiterBackend
from crudauth.ratelimit.config import LockoutConfig
from crudauth.ratelimit.policy import LockoutPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A monotonic clock for the memory limiter that moves only on ``advance``."""
    fake = Clock()
    monkeypatch.setattr(memory_module, "time", types.SimpleNamespace(monotonic=lambda: fake.now))
    return fake


def policy(backend: RateLimiterBackend | None = None, **settings: Any) -> LockoutPolicy:
    return LockoutPolicy(backend or MemoryRateLimiterBackend(), **settings)


async def test_escalation_pinned_scenario(clock: Clock) -> None:
    lockout = policy(
        max_attempts=1,
        lockout_base_seconds=10,
        lockout_max_seconds=10000,
        round_retention_seconds=100,
        attempt_window_seconds=100000,
    )
    assert await lockout.check_and_record("1.2.3.4", "v@x.com") == (True, 0, 0)
    assert await lockout.check_and_record("1.2.3.4", "v@x.com") == (False, 0, 10)
    clock.advance(55)
    assert await lockout.check_and_record("1.2.3.4", "v@x.com") == (False, 0, 20)
    clock.advance(65)
    assert await lockout.check_and_record("1.2.3.4", "v@x.com") == (False, 0, 40)


async def test_locked_attempt_reports_remaining(clock: Clock) -> None:
    lockout = policy(max_attempts=1, lockout_base_seconds=10)
    await lockout.check_and_record("1.2.3.4", "bob")
    assert await lockout.check_and_record("1.2.3.4", "bob") == (False, 0, 10)
    clock.advance(4)
    assert await lockout.check_and_record("1.2.3.4", "bob") == (False, 0, 6)


async def test_lock_duration_capped(clock: Clock) -> None:
    lockout = policy(max_attempts=1, lockout_base_seconds=10, lockout_max_seconds=15)
    await lockout.check_and_record("1.2.3.4", "bob")
    assert (await lockout.check_and_record("1.2.3.4", "bob"))[2] == 10
    clock.advance(11)
    assert (await lockout.check_and_record("1.2.3.4", "bob"))[2] == 15


async def test_case_variants_share_lock(clock: Clock) -> None:
    lockout = policy(max_attempts=3)
    results = [
        await lockout.check_and_record(f"10.0.0.{n}", identifier)
        for n, identifier in enumerate(["v@x.com", "V@x.com", "v@X.com", "V@X.COM"])
    ]
    assert [allowed for allowed, _, _ in results] == [True, True, True, False]


async def test_ipv6_slash64_shares_lock(clock: Clock) -> None:
    lockout = policy(max_attempts=2)
    await lockout.check_and_record("2001:db8::1", "a")
    await lockout.check_and_record("2001:db8::2", "b")
    allowed, _, retry_after = await lockout.check_and_record("2001:db8::3", "c")
    assert allowed is False
    assert retry_after == 60


async def test_success_clears_identifier_only(clock: Clock) -> None:
    backend = MemoryRateLimiterBackend()
    lockout = policy(backend, max_attempts=5)
    await lockout.check_and_record("1.2.3.4", "alice")
    await lockout.check_and_record("1.2.3.4", "alice")
    await lockout.check_and_record("1.2.3.4", "mallory")
    assert await lockout.check_and_record("1.2.3.4", "alice", success=True) == (True, 5, 0)
    assert await backend.get_count("login:user:alice") is None
    # Only alice's own two failures come back; the failure against mallory stays.
    assert await backend.get_count("login:ip:1.2.3.4") == 1
    assert await backend.get_count("login:user:mallory") == 1


async def test_clear_user_only_keeps_ip_pressure(clock: Clock) -> None:
    backend = MemoryRateLimiterBackend()
    lockout = policy(backend, on_login_success="clear_user_only")
    await lockout.check_and_record("1.2.3.4", "alice")
    await lockout.check_and_record("1.2.3.4", "alice")
    await lockout.check_and_record("1.2.3.4", "alice", success=True)
    assert await backend.get_count("login:user:alice") is None
    assert await backend.get_count("login:ip:1.2.3.4") == 2
    assert await backend.get_count("login:pair:1.2.3.4:alice") is None


async def test_success_keeps_ip_lock(clock: Clock) -> None:
    lockout = policy(max_attempts=1, lockout_base_seconds=10)
    await lockout.check_and_record("1.2.3.4", "alice")
    await lockout.check_and_record("1.2.3.4", "alice")
    await lockout.check_and_record("1.2.3.4", "alice", success=True)
    allowed, _, retry_after = await lockout.check_and_record("1.2.3.4", "bob")
    assert allowed is False
    assert retry_after == 10


async def test_forget_attempt_takes_back_one(clock: Clock) -> None:
    backend = MemoryRateLimiterBackend()
    lockout = policy(backend)
    await lockout.check_and_record("1.2.3.4", "alice")
    await lockout.check_and_record("1.2.3.4", "alice")
    await lockout.forget_attempt("1.2.3.4", "alice")
    assert await backend.get_count("login:ip:1.2.3.4") == 1
    assert await backend.get_count("login:user:alice") == 1
    assert await backend.get_count("login:pair:1.2.3.4:alice") == 1
    await lockout.forget_attempt("1.2.3.4", "nobody")
    assert await backend.get_count("login:user:nobody") is None


class BrokenTtl(MemoryRateLimiterBackend):
    async def get_ttl(self, key: str) -> int:
        raise ConnectionError("limiter down")


class Unavailable(MemoryRateLimiterBackend):
    async def get_ttl(self, key: str) -> int:
        raise StoreUnavailableError("redis rate limiter", ConnectionError("down"))


async def test_backend_error_fails_closed() -> None:
    lockout = policy(BrokenTtl(), lockout_base_seconds=42)
    assert await lockout.check_and_record("1.2.3.4", "bob") == (False, 0, 42)


async def test_backend_error_fails_open() -> None:
    lockout = policy(BrokenTtl(), fail_open=True)
    allowed, _, _ = await lockout.check_and_record("1.2.3.4", "bob")
    assert allowed is True


async def test_store_unavailable_raises_503() -> None:
    lockout = policy(Unavailable(), lockout_base_seconds=42)
    with pytest.raises(StoreUnavailableError) as raised:
        await lockout.check_and_record("1.2.3.4", "bob")
    assert raised.value.status_code == 503


async def test_forget_attempt_swallows_errors() -> None:
    class Broken(MemoryRateLimiterBackend):
        async def get_count(self, key: str) -> int | None:
            raise ConnectionError("limiter down")

    await policy(Broken()).forget_attempt("1.2.3.4", "bob")


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        LockoutConfig(max_attempts=0)
    with pytest.raises(ValueError, match="on_login_success"):
        LockoutConfig(on_login_success="clear_nothing")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lockout_base_seconds"):
        LockoutPolicy(MemoryRateLimiterBackend(), lockout_base_seconds=-1)


def test_policy_from_config() -> None:
    config = LockoutConfig(max_attempts=3, on_login_success="clear_user_only")
    lockout = LockoutPolicy.from_config(MemoryRateLimiterBackend(), config)
    assert lockout.max_attempts == 3
    assert lockout.on_login_success == "clear_user_only"
    assert lockout.fail_open is False


async def test_two_attempts_then_lock(limiter: RateLimiterBackend) -> None:
    lockout = LockoutPolicy(limiter, max_attempts=2, lockout_base_seconds=30)
    assert (await lockout.check_and_record("1.2.3.4", "Bob"))[:2] == (True, 1)
    assert (await lockout.check_and_record("1.2.3.4", "bob"))[:2] == (True, 0)
    assert await lockout.check_and_record("1.2.3.4", " BOB ") == (False, 0, 30)
    allowed, _, retry_after = await lockout.check_and_record("5.6.7.8", "bob")
    assert allowed is False
    assert 0 < retry_after <= 30


async def test_success_returns_own_failures(limiter: RateLimiterBackend) -> None:
    lockout = LockoutPolicy(limiter, max_attempts=5)
    await lockout.check_and_record("1.2.3.4", "alice")
    await lockout.check_and_record("1.2.3.4", "mallory")
    await lockout.check_and_record("1.2.3.4", "alice", success=True)
    assert await limiter.get_count("login:ip:1.2.3.4") == 1
    assert await limiter.get_count("login:user:alice") is None
