"""Load an app under ``examples/`` with its own SQLite file and run its lifespan."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from types import ModuleType

import httpx
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

ExampleClient = Callable[[str], AbstractAsyncContextManager[tuple[ModuleType, httpx.AsyncClient]]]


@pytest.fixture
def example_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ExampleClient:
    """Return ``example_client(name)``: an async context giving (module, client)."""
    monkeypatch.setenv("CRUDAUTH_SECRET_KEY", "example-secret-key-0123456789-0123456789")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'example.db'}")

    @asynccontextmanager
    async def open_example(name: str) -> AsyncIterator[tuple[ModuleType, httpx.AsyncClient]]:
        module_name = f"example_{name}_{uuid.uuid4().hex}"
        spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / name / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
            app = module.app
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                    transport=transport, base_url="https://testserver"
                ) as client:
                    yield module, client
        finally:
            sys.modules.pop(module_name, None)

    return open_example
