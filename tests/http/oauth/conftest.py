"""A fake OpenID Connect provider served over real HTTP on loopback for the session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from oauth_support import CLIENT_ID, CLIENT_SECRET, fake_provider_module


@pytest.fixture(scope="session")
def provider_server() -> Iterator[Any]:
    module = fake_provider_module()
    running = module.RunningProvider(module.FakeProvider()).start()
    yield running
    running.stop()


@pytest.fixture
def fake(provider_server: Any) -> Any:
    """The running fake provider, reset and knowing the test client."""
    provider = provider_server.provider
    provider.reset()
    provider.clients = {CLIENT_ID: CLIENT_SECRET}
    provider.auth_methods = ["client_secret_post", "client_secret_basic"]
    return provider_server
