"""The only component that reads or writes the app's user model.

crudauth speaks logical field names (``LOGICAL_FIELDS``); ``column_map`` translates the
ones an app named differently. Every write commits immediately, so apps that commit at
the end of a request should know auth writes are already durable.

``UserRepository`` combines four mixins: field mapping and readers (``user_fields``),
lookups (``user_queries``), writes (``user_writes``) and the registration and
provisioning filters (``user_gating``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Mapper

from crudauth.constants import (
    LOGICAL_FIELDS,
    REGISTRATION_ALLOWED_FIELDS,
    REGISTRATION_GATED_FIELDS,
)
from crudauth.user_gating import UserFieldGating
from crudauth.user_writes import UserWrites

__all__ = [
    "LOGICAL_FIELDS",
    "REGISTRATION_ALLOWED_FIELDS",
    "REGISTRATION_GATED_FIELDS",
    "UserRepository",
]


class UserRepository(UserWrites, UserFieldGating):
    """Adapter between crudauth's logical user fields and the app's model.

    Every read and write of the user table goes through here, so a ``column_map`` or a
    missing optional column is handled in one place. ``CRUDAuth`` builds one and
    exposes it as ``auth.repo``.

    Args:
        model: The app's mapped SQLAlchemy user class, with a single-column primary
            key.
        column_map: Logical field name to the model's attribute name, for fields the
            app named differently.
        register_extra_fields: App columns that registration may also set.
        login_fields: Logical fields a login identifier is tried against, in order.
            Defaults to ``["email", "username"]``.
        recovery: The recovery factor, ``"email"`` or another channel's name, or
            ``None`` when accounts have no recovery factor.

    Raises:
        TypeError: ``model`` is not a mapped SQLAlchemy class.
        ValueError: The model's primary key has more than one column.

    Example:
        ```python
        @app.get("/me/email")
        async def my_email(principal: Principal = Depends(auth.current_user())):
            return {"email": auth.repo.get(principal.user, "email")}
        ```
    """

    def __init__(
        self,
        model: type[Any],
        column_map: Mapping[str, str] | None = None,
        register_extra_fields: Iterable[str] | None = None,
        login_fields: Iterable[str] | None = None,
        recovery: str | None = "email",
    ) -> None:
        try:
            mapper = sa.inspect(model)
        except sa_exc.NoInspectionAvailable:
            raise TypeError(
                f"user_model must be a mapped SQLAlchemy class, not {model!r}"
            ) from None
        if not isinstance(mapper, Mapper):
            raise TypeError(f"user_model must be a mapped SQLAlchemy class, not {model!r}")
        if len(mapper.primary_key) != 1:
            raise ValueError(f"user_model {model.__name__} must have a single-column primary key")
        self.model = model
        self.column_map = dict(column_map or {})
        self.register_extra_fields = frozenset(register_extra_fields or ())
        self.login_fields = list(login_fields or ["email", "username"])
        self.recovery = recovery
        self._mapper = mapper
        self._warned_provisioning_keys = set()
        # Set by CRUDAuth when rows may be served from process memory.
        self.row_cache = None
