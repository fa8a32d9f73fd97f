"""Run a recovery step after the HTTP response has been sent.

Request endpoints respond first and only then look the account up, mint and deliver,
so neither a slow mailer nor the extra work for an existing account can show in the
response time. The step gets its own database session from the app's ``session``
dependency, because the request's session may already be closed by then.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

__all__ = ["open_session", "run_after_response"]

logger = logging.getLogger("crudauth.email")

Step = Callable[[Any], Awaitable[None]]


@asynccontextmanager
async def open_session(dependency: Callable[..., Any]) -> AsyncIterator[Any]:
    """Call a FastAPI-style session dependency by hand and close it afterwards.

    ``app.dependency_overrides`` does not apply here, because the dependency itself is
    called. The dependency must take no arguments.

    Args:
        dependency: A sync or async function or generator that returns or yields the
            session.

    Yields:
        The session the dependency produced.
    """
    async with AsyncExitStack() as stack:
        result = dependency()
        if inspect.isasyncgen(result):
            session = await result.__anext__()
            stack.push_async_callback(result.aclose)
        elif inspect.isgenerator(result):
            session = next(result)
            stack.callback(result.close)
        elif inspect.isawaitable(result):
            session = await result
        else:
            session = result
        yield session


async def run_after_response(dependency: Callable[..., Any] | None, step: Step, name: str) -> None:
    """Run ``step`` with a fresh session (``None`` without a dependency); log failures.

    The response is already sent, so an error can only be logged and is swallowed.
    Only its class is logged because database and mailer errors may quote addresses.

    Args:
        dependency: The app's session dependency, or ``None``.
        step: The work to run; it receives the session.
        name: Name of the step for the log line.
    """
    try:
        if dependency is None:
            await step(None)
            return
        async with open_session(dependency) as db:
            await step(db)
    except Exception as exc:
        logger.error("Recovery step %s failed after the response (%s)", name, type(exc).__name__)
