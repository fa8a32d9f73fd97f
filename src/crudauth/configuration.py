"""Construction-time checks and warnings of ``CRUDAuth``.

Every check raises ``ValueError`` naming the setting and the fix, so a misconfigured app
fails at start-up instead of at its first request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from crudauth.identity import IdentityConfig

if TYPE_CHECKING:
    from crudauth.ratelimit import RateLimit
    from crudauth.repository import UserRepository

logger = logging.getLogger("crudauth")

__all__ = [
    "check_identity",
    "merge_rate_limits",
    "warn_about_memory_backends",
    "warn_about_registration",
]


def check_identity(
    repo: UserRepository,
    identity: IdentityConfig,
    *,
    oauth: Mapping[str, Any] | None,
    email: Any,
    channels: Any,
) -> None:
    """Cross-check the identity contract against the model's real columns.

    Args:
        repo: The user repository over the app's model.
        identity: The ``identity=`` setting.
        oauth: The ``oauth=`` setting, or ``None``.
        email: The ``email=`` setting, or ``None``.
        channels: The ``channels=`` setting, or ``None``.

    Raises:
        ValueError: A login or recovery field is not a unique column, OAuth is set
            without ``email`` among the login fields, ``email=`` or ``channels=`` is
            set without a recovery factor, ``email=`` is set without an email column,
            or an OAuth provider has no ``<name>_id`` column.
    """
    for field in identity.login:
        # First-match-wins login resolution is only safe over unique columns.
        if not repo.is_unique_column(field):
            raise ValueError(
                f"identity.login field {field!r} is not a unique column on "
                f"{repo.model.__name__} (resolved to {repo.col(field)!r}); declare it "
                f"unique=True or map it with column_map"
            )
    if identity.recovery is not None and not repo.is_unique_column(identity.recovery):
        raise ValueError(
            f"identity.recovery field {identity.recovery!r} is not a unique column on "
            f"{repo.model.__name__}; declare it unique=True or set recovery=None"
        )
    if oauth and "email" not in identity.login:
        raise ValueError("OAuth requires 'email' in identity.login; add it or remove oauth=")
    if (email is not None or channels) and identity.recovery is None:
        raise ValueError(
            "email= and channels= need a recovery factor; set "
            "IdentityConfig(recovery='email') or another unique column"
        )
    if email is not None and not repo.has("email"):
        raise ValueError("email= requires an 'email' column on the user model.")
    for provider in oauth or {}:
        if not repo.has(f"{provider}_id"):
            raise ValueError(
                f"OAuth provider {provider!r} needs a {provider}_id column on "
                f"{repo.model.__name__} (or a column_map entry for it)"
            )


def warn_about_registration(
    repo: UserRepository,
    register_extra_fields: set[str] | frozenset[str] | None,
    register_schema: Any,
) -> None:
    """Log the start-up warnings about fields registration will never persist.

    Args:
        repo: The user repository over the app's model.
        register_extra_fields: The ``register_extra_fields=`` setting.
        register_schema: The ``register_schema=`` model, or ``None``.
    """
    if register_extra_fields:
        gated = repo.gated_register_fields(set(register_extra_fields))
        if gated:
            logger.warning(
                "register_extra_fields names privileged field(s) %s; they stay gated and "
                "are never set from a registration body",
                sorted(gated),
            )
    if register_schema is None:
        return
    declared = set(getattr(register_schema, "model_fields", {})) - {"password"}
    for name in sorted(repo.gated_register_fields(declared)):
        logger.warning(
            "register_schema declares privileged field %r; registration ignores it", name
        )
    droppable = repo.droppable_register_fields(declared)
    if droppable:
        logger.warning(
            "register_schema declares model column(s) %s that are not in "
            "register_extra_fields; registration will drop them",
            sorted(droppable),
        )


def merge_rate_limits(
    defaults: Mapping[str, RateLimit], overrides: Mapping[str, RateLimit] | None
) -> dict[str, RateLimit]:
    """Return the defaults with ``overrides`` applied.

    Args:
        defaults: The built-in limits by action name.
        overrides: The ``rate_limits=`` setting, or ``None``.

    Raises:
        ValueError: ``overrides`` names an action that has no default.
    """
    merged = dict(defaults)
    for action, limit in (overrides or {}).items():
        if action not in defaults:
            valid = ", ".join(sorted(defaults))
            raise ValueError(
                f"rate_limits has an unknown action {action!r}; valid actions are {valid}. "
                f"Pass a RateLimit to auth.rate_limit() for a custom action"
            )
        merged[action] = limit
    return merged


def warn_about_memory_backends(parts: list[str]) -> None:
    """Log one warning listing the parts of the app kept in process memory.

    Args:
        parts: Descriptions of the in-memory parts; an empty list logs nothing.
    """
    if not parts:
        return
    logger.warning(
        "crudauth is using an in-memory backend for: %s. In-memory state is per process: "
        "several workers or pods will not share sessions, lockouts or one-time tokens. "
        "Pass redis_url= or redis_client= (or database_store=) to share it, or "
        "warn_on_memory_backend=False to silence this warning",
        ", ".join(parts),
    )
