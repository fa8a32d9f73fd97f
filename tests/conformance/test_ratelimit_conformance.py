"""The rate-limiter port's contract, run on every backend."""

from __future__ import annotations

import asyncio

from crudauth.ratelimit.base import RateLimiterBackend


async def test_increment_counts_up(limiter: RateLimiterBackend) -> None:
    assert await limiter.increment("k", 1, 60) == 1
    assert await limiter.increment("k", 1, 60) == 2
    assert await limiter.increment("k", 3, 60) == 5
    assert await limiter.get_count("k") == 5


async def test_increment_accepts_negative_amount(limiter: RateLimiterBackend) -> None:
    await limiter.increment("k", 3, 60)
    assert await limiter.increment("k", -2, 60) == 1


async def test_delete_then_count_absent(limiter: RateLimiterBackend) -> None:
    await limiter.increment("k", 1, 60)
    assert await limiter.delete("k") is True
    assert await limiter.get_count("k") is None
    assert await limiter.delete("k") is False


async def test_reset_removes_counter(limiter: RateLimiterBackend) -> None:
    await limiter.increment("k", 1, 60)
    await limiter.reset("k")
    assert await limiter.get_count("k") is None


async def test_ping_is_true(limiter: RateLimiterBackend) -> None:
    assert await limiter.ping() is True


async def test_get_ttl_absent_is_zero(limiter: RateLimiterBackend) -> None:
    assert await limiter.get_ttl("missing") == 0


async def test_increment_arms_ttl_once(limiter: RateLimiterBackend) -> None:
    await limiter.increment("k", 1, 30)
    await limiter.increment("k", 1, 500)
    assert 0 < await limiter.get_ttl("k") <= 30


async def test_refresh_rearms_ttl(limiter: RateLimiterBackend) -> None:
    await limiter.increment_and_refresh_ttl("k", 1, 30)
    assert await limiter.increment_and_refresh_ttl("k", 1, 500) == 2
    assert 30 < await limiter.get_ttl("k") <= 500


async def test_counter_expires(limiter: RateLimiterBackend) -> None:
    await limiter.increment("k", 5, 1)
    await asyncio.sleep(1.2)
    assert await limiter.get_count("k") is None
    assert await limiter.get_ttl("k") == 0
    assert await limiter.increment("k", 1, 60) == 1


async def test_increment_and_check_window(limiter: RateLimiterBackend) -> None:
    results = [await limiter.increment_and_check("k", 3, 100) for _ in range(4)]
    assert [count for count, _, _ in results] == [1, 2, 3, 4]
    assert [limited for _, limited, _ in results] == [False, False, False, True]
    assert results[2][2] == 0
    assert 0 < results[3][2] <= 100


async def test_concurrent_increments_not_lost(limiter: RateLimiterBackend) -> None:
    await asyncio.gather(*(limiter.increment("k", 1, 60) for _ in range(20)))
    assert await limiter.get_count("k") == 20
