"""A small, low-priority thread pool for password hashing and other CPU-bound work.

One bcrypt hash at cost 12 takes about 220 ms of CPU (measured on a 2-core x86-64
machine). On the event loop it would stall every request. On the default thread pool,
twenty concurrent logins start twenty CPU-bound threads, and the scheduler then gives
the event loop a twenty-first of a core. This pool runs at most one thread per CPU the
process may use, and on Linux each of its threads runs at the lowest priority (nice
19), so the event loop preempts hashing whenever a request is ready.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["LOWEST_PRIORITY", "run_cpu_bound", "usable_cpus"]

logger = logging.getLogger("crudauth.hashing")

R = TypeVar("R")

# The highest nice value. Linux's fair scheduler gives such a thread about 1.5% of a
# core while a thread of nice 0 is runnable.
LOWEST_PRIORITY = 19

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _lower_thread_priority() -> None:
    """Give the calling thread the lowest priority; a no-op where that is unsupported.

    On Linux the nice value is per thread, so passing the thread id changes this
    thread only and never the event loop's thread.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)
    except (AttributeError, OSError) as exc:
        # The cap on threads still holds, so only the priority stays the default.
        logger.debug("could not lower the hashing thread priority (%s)", exc)


def usable_cpus() -> int:
    """Return how many CPUs this process may run on (its affinity mask, if known)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=usable_cpus(),
                thread_name_prefix="crudauth-hashing",
                initializer=_lower_thread_priority,
            )
        return _executor


def _forget_pool_after_fork() -> None:
    # A forked worker inherits the pool object but none of its threads.
    global _executor
    _executor = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


async def run_cpu_bound(func: Callable[..., R], *args: object) -> R:
    """Run ``func(*args)`` on the low-priority pool and return its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), functools.partial(func, *args))
