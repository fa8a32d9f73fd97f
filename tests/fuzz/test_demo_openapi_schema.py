"""Schemathesis drives every documented route of the demo app in-process.

Each operation gets a bounded number of generated requests, valid and invalid. A run
fails on any 5xx, on a response that breaks the documented schema, and on a route that
accepts input its schema documents as invalid.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from anyio.from_thread import BlockingPortal, start_blocking_portal
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
)

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo" / "app.py"
EXAMPLES_PER_OPERATION = 8
BASE_URL = "https://testserver"
# Routes whose schema cannot describe what they accept: the dev-only outbox page.
SKIPPED_PATHS = ("/outbox",)


class Demo:
    """The demo app running its lifespan on one event loop in a worker thread."""

    def __init__(self, portal: BlockingPortal, module: Any, client: httpx.AsyncClient) -> None:
        self.portal = portal
        self.module = module
        self.client = client

    def send(self, kwargs: dict[str, Any]) -> httpx.Response:
        kwargs = dict(kwargs)
        # The transport arguments follow ``requests``; httpx takes raw bodies as content.
        if isinstance(kwargs.get("data"), (bytes, str)):
            kwargs["content"] = kwargs.pop("data")
        for name in ("cookies", "verify", "timeout", "allow_redirects"):
            kwargs.pop(name, None)
        return self.portal.call(lambda: self.client.request(**kwargs))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    directory = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{directory / 'demo.sqlite3'}")
        patch.setenv("CRUDAUTH_SECRET_KEY", "fuzz-secret-key-0123456789-0123456789-abcdef")
        patch.setenv("CRUDAUTH_MFA_KEY", Fernet.generate_key().decode())
        for name in ("REDIS_URL", "OIDC_ISSUER", "OIDC_CLIENT_ID", "WEB_CONCURRENCY"):
            patch.delenv(name, raising=False)
        name = f"fuzzed_demo_{uuid.uuid4().hex}"
        spec = importlib.util.spec_from_file_location(name, DEMO)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        sys.path.insert(0, str(DEMO.parent))
        try:
            spec.loader.exec_module(module)
            app = module.app
            with start_blocking_portal() as portal:
                lifespan = portal.wrap_async_context_manager(app.router.lifespan_context(app))
                with lifespan:
                    client = portal.call(
                        lambda: _client(app)  # the client binds to the portal's loop
                    )
                    yield Demo(portal, module, client)
                    portal.call(client.aclose)
        finally:
            sys.path.remove(str(DEMO.parent))
            sys.modules.pop(name, None)


async def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


def operations(demo: Demo) -> list[Any]:
    schema = schemathesis.openapi.from_dict(demo.module.app.openapi())
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(SKIPPED_PATHS):
            found.append(operation)
    return found


def fuzz(demo: Demo, operation: Any, mode: GenerationMode, checks: list[Any]) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL)
        response = demo.send(kwargs)
        case.validate_response(response, checks=checks, transport_kwargs=kwargs)

    try:
        run()
    except Unsatisfiable:
        # An operation without parameters or body has no invalid input to generate.
        assert mode is GenerationMode.NEGATIVE, operation.label


def test_schema_covers_the_auth_routes(demo: Demo) -> None:
    paths = {operation.path for operation in operations(demo)}
    for path in ("/login", "/token", "/refresh", "/register", "/me", "/sessions"):
        assert path in paths


def test_valid_requests_get_no_5xx_and_match_the_schema(demo: Demo) -> None:
    for operation in operations(demo):
        fuzz(
            demo,
            operation,
            GenerationMode.POSITIVE,
            [not_a_server_error, response_schema_conformance],
        )


def test_invalid_requests_are_rejected(demo: Demo) -> None:
    checks = [not_a_server_error, negative_data_rejection]
    for operation in operations(demo):
        fuzz(demo, operation, GenerationMode.NEGATIVE, checks)
