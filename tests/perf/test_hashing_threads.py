"""Password hashing runs off the event loop, on a capped pool of low-priority threads."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from typing import Any

import pytest

from crudauth.utils import _cpu_threads as cpu_threads
from crudauth.utils import hashing


def thread_facts() -> dict[str, Any]:
    facts: dict[str, Any] = {
        "ident": threading.get_ident(),
        "name": threading.current_thread().name,
    }
    if sys.platform.startswith("linux"):
        facts["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    return facts


async def test_hash_runs_on_hashing_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    original = hashing.get_password_hash

    def recording(password: str) -> str:
        seen.append(thread_facts())
        return original(password)

    monkeypatch.setattr(hashing, "get_password_hash", recording)
    hashed = await hashing.get_password_hash_async("Correct-Horse-1")

    assert await hashing.verify_password_async("Correct-Horse-1", hashed)
    assert len(seen) == 1
    assert seen[0]["ident"] != threading.get_ident()
    assert seen[0]["name"].startswith("crudauth-hashing")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux")
async def test_hashing_threads_lowest_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    original = hashing.verify_and_update_password

    def recording(plain: str, hashed: str | None) -> tuple[bool, str | None]:
        seen.append(thread_facts())
        return original(plain, hashed)

    monkeypatch.setattr(hashing, "verify_and_update_password", recording)
    loop_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    await hashing.verify_and_update_password_async("x", hashing.get_password_hash("x"))

    assert seen[0]["nice"] == cpu_threads.LOWEST_PRIORITY
    # Only the pool's threads are demoted: the event loop keeps its priority.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == loop_nice


async def test_hashing_pool_capped_at_cpus() -> None:
    idents: set[int] = set()

    def busy() -> None:
        idents.add(threading.get_ident())
        time.sleep(0.02)

    cpus = cpu_threads.usable_cpus()
    await asyncio.gather(*(cpu_threads.run_cpu_bound(busy) for _ in range(cpus * 4)))

    assert 1 <= len(idents) <= cpus
