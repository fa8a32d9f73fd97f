"""Change a stored value, creating it from the model's defaults when it is missing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from crudauth.storage.base import AbstractSessionStorage

__all__ = ["modify_or_create"]

M = TypeVar("M", bound=BaseModel)


async def modify_or_create(
    store: AbstractSessionStorage[Any],
    value_id: str,
    model_class: type[M],
    change: Callable[[M], None],
    *,
    expiration: int | None = None,
) -> M:
    """Apply ``change`` to the stored value, or to ``model_class()`` stored afresh.

    A missing value is created with ``set_if_absent``, so a first write that races
    another first write is retried as a change of the value that won.

    Args:
        store: The store of the value.
        value_id: The id of the value.
        model_class: The model of the value. Its defaults form a missing value.
        change: Mutates the value in place, as for ``modify``. It may run more than
            once, each time on a fresh copy.
        expiration: TTL in seconds, restarted by the write. ``None`` uses the store's
            ``expiration``.

    Returns:
        The value as written.

    Raises:
        StoreUnavailableError: The store's server did not respond.
        RuntimeError: Concurrent writers kept the write from landing twice in a row.
    """
    # Two tries cover a first write racing another first write to the same id.
    for _attempt in range(2):
        changed = await store.modify(value_id, model_class, change, expiration=expiration)
        if changed is not None:
            return changed
        fresh = model_class()
        change(fresh)
        if await store.set_if_absent(value_id, fresh, expiration=expiration):
            return fresh
    raise RuntimeError(f"write to {value_id!r} lost two races in a row")
