"""The asyncio Redis client that the Redis backends build, and their error handling.

The ``redis`` package is imported only when a client is built or an error is
translated, so importing this module works without it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from crudauth.exceptions import StoreUnavailableError
from crudauth.storage.constants import (
    DEFAULT_REDIS_URL,
    REDIS_CONNECT_TIMEOUT_SECONDS,
    REDIS_SOCKET_TIMEOUT_SECONDS,
)

__all__ = ["redis_client_from_url", "redis_errors", "translate_redis_errors"]


def redis_client_from_url(url: str | None = None) -> Any:
    """Build an asyncio Redis client that fails fast when the server is down.

    The client has 2 s connect and socket timeouts and one quick retry, which replaces
    a pooled connection left dead by a server restart. Replies are returned as bytes
    (``decode_responses=False``).

    Args:
        url: A ``redis://`` or ``rediss://`` URL. ``None`` or an empty string uses
            ``redis://localhost:6379/0``.

    Returns:
        A ``redis.asyncio.Redis`` client. The caller closes it with ``aclose()``.

    Raises:
        ImportError: The ``redis`` package is not installed. The message names the
            ``crudauth[redis]`` extra.
    """
    try:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff
    except ImportError as exc:
        raise ImportError(
            "Redis support needs the redis package: pip install 'crudauth[redis]'"
        ) from exc

    return Redis.from_url(
        url or DEFAULT_REDIS_URL,
        decode_responses=False,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
        socket_timeout=REDIS_SOCKET_TIMEOUT_SECONDS,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), 1),
    )


def redis_errors() -> tuple[type[BaseException], ...]:
    """Return the exception classes that mean Redis could not serve a command.

    Returns:
        ``RedisError``, ``OSError`` and ``TimeoutError``, for use in an ``except``
        clause.

    Raises:
        ImportError: The ``redis`` package is not installed.
    """
    from redis.exceptions import RedisError

    return (RedisError, OSError, TimeoutError)


@contextmanager
def translate_redis_errors(store: str, log: logging.Logger, prefix: str) -> Iterator[None]:
    """Turn a Redis failure inside the block into ``StoreUnavailableError``.

    One ERROR line is logged first. It names the store, the key prefix and the error
    class, never a key or a value. A ``StoreUnavailableError`` raised inside the block
    passes through unchanged, and other exceptions are not caught.

    Args:
        store: Name of the store, for the log line and the error.
        log: The logger to write the line to.
        prefix: The key prefix of the store, for the log line.

    Raises:
        StoreUnavailableError: A Redis error, ``OSError`` or ``TimeoutError`` was
            raised inside the block. The original is its ``original_error``.

    """
    try:
        yield
    except StoreUnavailableError:
        raise
    except redis_errors() as exc:
        log.error("%s failed for keys under %r (%s)", store, prefix, type(exc).__name__)
        raise StoreUnavailableError(store, exc) from exc
