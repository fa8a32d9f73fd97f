"""Settings that let the demo run as several worker processes.

``WEB_CONCURRENCY`` workers (uvicorn reads the same variable) must share the secret
key and the server-side state, and must not race each other creating tables.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from sqlalchemy import MetaData, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from crudauth.storage import DatabaseStore

# Any constant works: it only has to be the same in every worker of the demo.
TABLE_CREATION_LOCK = 0x63727564
TABLE_CREATION_ATTEMPTS = 5


def worker_count() -> int:
    """Return the number of uvicorn workers from ``WEB_CONCURRENCY`` (default 1)."""
    return max(1, int(os.environ.get("WEB_CONCURRENCY") or 1))


def secret_key(data_dir: Path) -> str:
    """Return ``CRUDAUTH_SECRET_KEY``, else a key generated once into ``data_dir``.

    Every worker must sign and key sessions with the same secret. The first worker to
    link its candidate file wins, and the others read the winner's key.
    """
    configured = os.environ.get("CRUDAUTH_SECRET_KEY")
    if configured:
        return configured
    data_dir.mkdir(exist_ok=True)
    path = data_dir / "secret_key"
    candidate = data_dir / f".secret_key.{os.getpid()}"
    candidate.write_text(secrets.token_urlsafe(32), encoding="utf-8")
    candidate.chmod(0o600)
    try:
        # link() fails when the name exists, so exactly one candidate becomes the key.
        os.link(candidate, path)
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return path.read_text(encoding="utf-8").strip()


def shared_state(engine: AsyncEngine, metadata: MetaData) -> dict[str, Any]:
    """Return the CRUDAuth arguments that keep sessions and counters shared.

    ``REDIS_URL`` puts every store in Redis. Without it, several workers share the
    database store on the users' database, and a single worker keeps memory.
    """
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        return {"redis_url": redis_url}
    if worker_count() > 1:
        return {"database_store": DatabaseStore(engine, metadata=metadata)}
    return {}


async def create_tables(engine: AsyncEngine, metadata: MetaData) -> None:
    """Create missing tables without racing the other workers starting beside this one.

    On PostgreSQL a transaction-scoped advisory lock lets one worker create the tables
    at a time. Elsewhere a worker that loses the race gets an error, retries, and then
    finds the tables in place.
    """
    for attempt in range(1, TABLE_CREATION_ATTEMPTS + 1):
        try:
            async with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    await connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": TABLE_CREATION_LOCK}
                    )
                await connection.run_sync(metadata.create_all)
            return
        except DBAPIError:
            if attempt == TABLE_CREATION_ATTEMPTS:
                raise
            await asyncio.sleep(0.2 * attempt)


def name_worker(app: FastAPI) -> None:
    """Add an ``X-Demo-Worker`` header naming the process that served each response."""
    worker = str(os.getpid())

    @app.middleware("http")
    async def add_worker_header(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers["X-Demo-Worker"] = worker
        return response
