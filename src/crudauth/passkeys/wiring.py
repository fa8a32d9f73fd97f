"""Build the passkeys feature for the facade, validating the configuration first."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crudauth.core import AuthRuntime
from crudauth.passkeys.ceremony import Ceremonies
from crudauth.passkeys.config import PasskeyConfig
from crudauth.passkeys.constants import (
    CHALLENGE_STORAGE_PREFIX,
    PASSKEY_RECORD_TTL_SECONDS,
    PASSKEY_STORAGE_PREFIX,
)
from crudauth.passkeys.storage import PasskeyStore
from crudauth.storage.base import AbstractSessionStorage

if TYPE_CHECKING:
    from crudauth.passkeys.service import PasskeyService

__all__ = ["MEMORY_PASSKEY_STORE", "build_passkey_service"]

MEMORY_PASSKEY_STORE = "passkey store"

StoreFactory = Callable[..., AbstractSessionStorage[Any]]


def build_passkey_service(
    runtime: AuthRuntime,
    config: PasskeyConfig | None,
    *,
    store_factory: StoreFactory,
    sudo_configured: bool,
) -> PasskeyService | None:
    """Return the ``PasskeyService`` for ``CRUDAuth(passkeys=config)``, or ``None``.

    Args:
        runtime: The facade's shared state.
        config: The ``passkeys=`` setting; ``None`` returns ``None``.
        store_factory: The facade's ``auxiliary_storage``.
        sudo_configured: Whether ``sudo=`` is set.

    Raises:
        ValueError: ``config`` is not a ``PasskeyConfig``, ``sudo=`` is missing
            (registration needs sudo mode), or no ``SessionTransport`` is configured
            (sign-in opens a session).
        ImportError: ``webauthn`` is not installed.
    """
    if config is None:
        return None
    if not isinstance(config, PasskeyConfig):
        raise ValueError(f"passkeys= must be a PasskeyConfig, got {type(config).__name__}")
    if not sudo_configured:
        raise ValueError(
            "passkeys= needs sudo=SudoConfig(): registering or removing a passkey "
            "requires sudo mode"
        )
    if not any(t.name == "session" for t in runtime.transports):
        raise ValueError("passkeys= needs a SessionTransport: a passkey sign-in opens a session")
    # Imported here: webauthn is optional and only this feature needs it.
    from crudauth.passkeys.service import PasskeyService

    passkey_store = store_factory(
        PASSKEY_STORAGE_PREFIX, PASSKEY_RECORD_TTL_SECONDS, label=MEMORY_PASSKEY_STORE
    )
    challenge_store = store_factory(
        CHALLENGE_STORAGE_PREFIX, config.challenge_ttl_seconds, label=MEMORY_PASSKEY_STORE
    )
    return PasskeyService(
        runtime,
        config,
        PasskeyStore(passkey_store),
        Ceremonies(challenge_store, config, runtime.cookie_config),
    )
