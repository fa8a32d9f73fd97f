"""Filters that keep privileged fields out of registration and provisioning data."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

from crudauth.constants import (
    LOGICAL_FIELDS,
    REGISTRATION_ALLOWED_FIELDS,
    REGISTRATION_GATED_FIELDS,
)
from crudauth.user_fields import UserFields

__all__ = ["UserFieldGating"]

gate_logger = logging.getLogger("crudauth")


class UserFieldGating(UserFields):
    """Registration and provisioning field filters, shared by ``UserRepository``.

    A mixin without a constructor, because ``UserRepository.__init__`` sets every
    attribute.

    Attributes:
        register_extra_fields: App columns that registration may also set.
    """

    register_extra_fields: frozenset[str]
    _warned_provisioning_keys: set[str]

    def _with_mapped(self, names: Iterable[str]) -> set[str]:
        return {alias for name in names for alias in (name, self.col(name))}

    @cached_property
    def _contract_names(self) -> frozenset[str]:
        names = set(LOGICAL_FIELDS)
        if self.recovery_verified_field is not None:
            names.add(self.recovery_verified_field)
        return frozenset(self._with_mapped(names))

    @cached_property
    def _gated_names(self) -> frozenset[str]:
        # Mapped names are gated too: with {"is_superuser": "is_admin"} a client must
        # not reach the privilege flag through its real attribute name.
        names = set(REGISTRATION_GATED_FIELDS)
        if self.recovery_verified_field is not None:
            names.add(self.recovery_verified_field)
        return frozenset(self._with_mapped(names))

    @cached_property
    def _allowed_names(self) -> frozenset[str]:
        return frozenset(
            self._with_mapped(REGISTRATION_ALLOWED_FIELDS | self.register_extra_fields)
        )

    def filter_registration_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Keep only allowed, non-gated registration fields.

        A privileged field stays out even when listed in ``register_extra_fields``, so
        no client can register itself as an administrator or as verified.

        Args:
            data: The submitted registration fields.

        Returns:
            The fields registration may store.
        """
        return {
            key: value
            for key, value in data.items()
            if key in self._allowed_names and key not in self._gated_names
        }

    def gated_register_fields(self, names: Iterable[str]) -> set[str]:
        """Return which of ``names`` registration never persists.

        Args:
            names: Field names, logical or mapped.

        Returns:
            The privileged names among them.
        """
        return {name for name in names if name in self._gated_names}

    def droppable_register_fields(self, names: Iterable[str]) -> set[str]:
        """Return model columns among ``names`` that registration would drop.

        Args:
            names: Field names, logical or mapped.

        Returns:
            The names that are model columns but neither allowed nor privileged.
        """
        return {
            name
            for name in names
            if name not in self._allowed_names and name not in self._gated_names and self.has(name)
        }

    def filter_provisioning_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Drop contract fields from server-set values, keeping app columns.

        ``new_user_defaults`` and ``new_user_fields`` may fill app columns only, so a
        callback cannot make a user an administrator or mark an email verified. Each
        dropped key is logged once per repository.

        Args:
            data: The server-set field values.

        Returns:
            The values whose keys are not crudauth's contract fields.
        """
        allowed: dict[str, Any] = {}
        for key, value in data.items():
            if key not in self._contract_names:
                allowed[key] = value
                continue
            if key not in self._warned_provisioning_keys:
                self._warned_provisioning_keys.add(key)
                gate_logger.warning(
                    "new_user_fields/new_user_defaults set the crudauth-owned field %r; "
                    "it was dropped. Only app columns can be set this way.",
                    key,
                )
        return allowed
