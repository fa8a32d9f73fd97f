"""Build the MFA service for the facade, validating the configuration first."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from crudauth.mfa.config import MfaConfig
from crudauth.mfa.constants import MFA_FIELDS
from crudauth.mfa.service import MfaService

if TYPE_CHECKING:
    from crudauth.core import AuthRuntime
    from crudauth.storage.base import AbstractSessionStorage

__all__ = ["build_mfa_service"]

logger = logging.getLogger("crudauth")


def build_mfa_service(
    runtime: AuthRuntime,
    config: MfaConfig,
    challenge_store: AbstractSessionStorage[Any],
    *,
    oauth_configured: bool = False,
) -> MfaService:
    """Return the ``MfaService`` for ``CRUDAuth(mfa=config)``.

    Logs a warning when MFA may be required but OAuth sign-ins are not challenged.

    Args:
        runtime: The facade's shared state.
        config: The ``mfa=`` setting.
        challenge_store: Storage of pending two-step logins.
        oauth_configured: Whether ``oauth=`` is set.

    Raises:
        ValueError: ``config`` is not an ``MfaConfig``, the user model lacks an MFA
            column, an encryption key equals ``SECRET_KEY``, or a key is not a valid
            Fernet key.
        ImportError: ``cryptography`` is not installed.
    """
    if not isinstance(config, MfaConfig):
        raise ValueError(f"mfa= must be an MfaConfig, got {type(config).__name__}")
    repo = runtime.repo
    missing = [name for name in MFA_FIELDS if not repo.has(name)]
    if missing:
        raise ValueError(
            f"mfa= needs the user columns {', '.join(missing)}; build the model with "
            "make_auth_identity(mfa=True) or map them with column_map"
        )
    # One leaked key must not unlock both the tokens and the stored TOTP secrets.
    if runtime.secret_key in config.encryption_keys:
        raise ValueError(
            "MfaConfig.encryption_key must differ from SECRET_KEY; generate a separate "
            "Fernet key for MFA"
        )
    service = MfaService(runtime=runtime, config=config, challenge_store=challenge_store)
    if oauth_configured and config.required is not False and not config.oauth:
        logger.warning(
            "MFA may be required but OAuth sign-ins are not challenged "
            "(MfaConfig(oauth=False)): accounts that must use MFA can still sign in "
            "through OAuth without a code. Set MfaConfig(oauth=True) to close this."
        )
    return service
