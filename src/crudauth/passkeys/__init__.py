"""Passkeys (WebAuthn): register, list and remove them, sign in, finish an MFA login.

The ceremonies need the ``webauthn`` package (the ``crudauth[passkeys]`` extra); it is
imported only once ``CRUDAuth(passkeys=...)`` builds the service.
"""

from typing import TYPE_CHECKING, Any

from crudauth.passkeys.config import PasskeyConfig as PasskeyConfig

if TYPE_CHECKING:
    from crudauth.passkeys.service import PasskeyService as PasskeyService

__all__ = ["PasskeyConfig", "PasskeyService"]


def __getattr__(name: str) -> Any:
    if name == "PasskeyService":
        from crudauth.passkeys.service import PasskeyService

        return PasskeyService
    raise AttributeError(f"module 'crudauth.passkeys' has no attribute {name!r}")
