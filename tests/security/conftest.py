"""A fully configured app for the attack scenarios and the helpers they share.

``secure_app(**overrides)`` builds session and bearer transports with management
routes, email recovery over a recording sender, the fake OpenID Connect provider and
raised limits, so a scenario turns off only what it tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from crudauth import BearerTransport, EmailConfig, SessionTransport
from crudauth.ratelimit import LockoutConfig, RateLimit
from oauth_support import CLIENT_ID, CLIENT_SECRET, fake_provider_module, oidc_model, oidc_settings
from recovery_support import FRONTEND, RecordingSender
from security_support import backend
from support import BOB

ROOMY = RateLimit(1000, 3600)
ROOMY_LIMITS = {
    name: ROOMY
    for name in (
        "register",
        "email_verify_request",
        "password_reset_request",
        "email_change_request",
        "existing_account_notice",
        "change_password",
        "logout_all",
        "csrf_refresh",
        "oauth_authorize",
    )
}
CAROL = {"email": "carol@example.com", "username": "carol", "password": "Carol-Pass-33"}


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
    return provider_server


SecureFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
def secure_app(make_app: Any, fake: Any) -> SecureFactory:
    """Return ``build(**overrides) -> TestApp`` with every feature on.

    ``extras["sender"]`` is the recording sender. ``oauth=False`` leaves OAuth out.
    """

    async def build(*, oauth: bool = True, accounts: bool = True, **overrides: Any) -> Any:
        sender = RecordingSender()
        kwargs: dict[str, Any] = {
            "transports": [
                SessionTransport(management_routes=True),
                BearerTransport(refresh="body"),
            ],
            "email": EmailConfig(sender=sender, frontend_url=FRONTEND),
            "rate_limits": dict(ROOMY_LIMITS),
            "lockout": LockoutConfig(max_attempts=1000),
        }
        if oauth:
            kwargs.update(oidc_settings(fake))
        kwargs.update(overrides)
        test_app = await make_app(oidc_model(), **kwargs)
        test_app.extras["sender"] = sender
        test_app.extras["fake"] = fake
        if accounts:
            await test_app.create_user(email_verified=True)
            await test_app.create_user(
                email=BOB["email"],
                username=BOB["username"],
                password=BOB["password"],
                email_verified=True,
            )
        return test_app

    return build


__all__ = ["backend"]
