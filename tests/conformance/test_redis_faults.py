"""Stopping the real Redis server mid-run: fast 503 errors, then recovery in place."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from crudauth.exceptions import StoreUnavailableError
from crudauth.ratelimit.backends.redis import RedisBackend
from crudauth.ratelimit.policy import LockoutPolicy
from crudauth.storage.backends.redis import RedisSessionStorage

pytestmark = pytest.mark.redis

# Generous bound for one failed call: connect timeout plus one quick retry.
FAILURE_BOUND_SECONDS = 5.0


class Record(BaseModel):
    user_id: Any = None


def server_settings() -> tuple[Path, int, str, Path]:
    names = (
        "CRUDAUTH_TEST_SERVICES_DIR",
        "CRUDAUTH_TEST_REDIS_PORT",
        "CRUDAUTH_TEST_REDIS_SERVER",
        "CRUDAUTH_TEST_REDIS_PID_FILE",
    )
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not set; run scripts/services.sh start")
    return (
        Path(os.environ["CRUDAUTH_TEST_SERVICES_DIR"]),
        int(os.environ["CRUDAUTH_TEST_REDIS_PORT"]),
        os.environ["CRUDAUTH_TEST_REDIS_SERVER"],
        Path(os.environ["CRUDAUTH_TEST_REDIS_PID_FILE"]),
    )


def stop_redis(pid_file: Path) -> None:
    pid = int(pid_file.read_text().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        # The server may be our child when an earlier run restarted it.
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"Redis pid {pid} did not stop within 10 s")


def start_redis(directory: Path, port: int, server: str, pid_file: Path) -> None:
    with open(directory / "redis.log", "ab") as log:
        process = subprocess.Popen(
            [
                server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                str(directory),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    # The stop command of the services script kills whatever pid this file names.
    pid_file.write_text(f"{process.pid}\n")


async def wait_until_up(store: RedisSessionStorage[Any]) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            await store.exists("probe")
            return
        except StoreUnavailableError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def assert_fails_fast(call: Any, store_name: str) -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as caught:
        await call
    assert caught.value.store == store_name
    assert caught.value.status_code == 503
    assert time.monotonic() - started < FAILURE_BOUND_SECONDS


async def test_redis_stop_and_restart(
    owned_redis_storage: RedisSessionStorage[Any], caplog: pytest.LogCaptureFixture
) -> None:
    directory, port, server, pid_file = server_settings()
    store = owned_redis_storage
    limiter = RedisBackend(client=store.client, prefix=f"{store.prefix}rl:")
    lockout = LockoutPolicy(limiter, lockout_base_seconds=60)
    await store.create(Record(user_id=1), session_id="secret-session-id")

    stop_redis(pid_file)
    try:
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="crudauth"):
            await assert_fails_fast(store.get("secret-session-id", Record), "redis session store")
        records = [r for r in caplog.records if r.name == "crudauth.storage"]
        assert len(records) == 1
        assert "redis session store" in records[0].getMessage()
        assert "ConnectionError" in records[0].getMessage()
        assert "secret-session-id" not in caplog.text

        await assert_fails_fast(store.create(Record(user_id=1)), "redis session store")
        await assert_fails_fast(store.get_user_sessions(1), "redis session store")
        await assert_fails_fast(store.delete_many(["a"], user_id=1), "redis session store")
        await assert_fails_fast(store.get_and_delete("a", Record), "redis session store")
        await assert_fails_fast(limiter.increment("k", 1, 60), "redis rate limiter")
        assert await limiter.ping() is False
        assert await limiter.increment_and_check("k", 3, 60) == (0, False, 0)
        await assert_fails_fast(
            limiter.increment_and_check("k", 3, 60, fail_open=False), "redis rate limiter"
        )
        await assert_fails_fast(lockout.check_and_record("1.2.3.4", "bob"), "redis rate limiter")
    finally:
        start_redis(directory, port, server, pid_file)

    await wait_until_up(store)
    assert await store.get("secret-session-id", Record) is None
    session_id = await store.create(Record(user_id=1))
    assert await store.get_user_sessions(1) == [session_id]
    assert await limiter.increment("k", 1, 60) == 1
    assert await lockout.check_and_record("1.2.3.4", "bob") == (True, 4, 0)
