"""Index summaries in the storage port: take a user's values without reading them.

A sign-out of every device ends hundreds of sessions but needs only a few fields of
each: its timestamps and the key of its CSRF token. A model that defines
``index_summary()`` returns those fields as a short text, and the Redis and memory
stores write that text next to the value's id in its owner's index each time the
value is stored. ``take_user_summaries`` then removes the values and returns their
summaries, so neither the whole values travel nor does the caller parse them. Other
stores use the default here, which reads every value as ``take_user_values`` does and
summarizes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, runtime_checkable

from pydantic import BaseModel

if TYPE_CHECKING:
    from crudauth.storage.base import AbstractSessionStorage

__all__ = ["IndexSummaries", "Summarized", "index_summary_of", "require_index_summary"]

M = TypeVar("M", bound=BaseModel)


@runtime_checkable
class Summarized(Protocol):
    """A stored model that describes itself in a short text for its owner's index."""

    def index_summary(self) -> str:
        """Return the fields that a bulk take needs, as text."""
        ...


def index_summary_of(value: object) -> str | None:
    """Return the index summary of ``value``, or ``None`` when its model has none."""
    if isinstance(value, Summarized):
        return value.index_summary()
    return None


def require_index_summary(value: object) -> str:
    """Return the index summary of ``value``.

    Raises:
        TypeError: The model of ``value`` defines no ``index_summary()``.
    """
    summary = index_summary_of(value)
    if summary is None:
        raise TypeError(f"{type(value).__name__} defines no index_summary()")
    return summary


class IndexSummaries:
    """The ``take_user_summaries`` method of the storage port, with its default."""

    async def take_user_summaries(
        self, user_id: Any, model_class: type[M], keep: Sequence[str] = ()
    ) -> list[tuple[str, str]]:
        """Remove every value ``user_id`` owns, except the ids in ``keep``.

        Works like ``take_user_values``, owner check included, but returns each
        removed value's index summary instead of the value. A value listed without
        a summary, such as one written before the store kept summaries, is read
        whole and summarized through ``model_class``. This default reads every
        value that way.

        Args:
            user_id: The owner.
            model_class: The model that values listed without a summary are
                validated into. It must define ``index_summary()``.
            keep: Ids to leave stored and listed.

        Returns:
            ``(id, summary)`` for every removed value that was live in the store, in
            no particular order.

        Raises:
            NotImplementedError: The store cannot index values by user.
            StoreUnavailableError: The store's server did not respond.
            TypeError: ``model_class`` defines no ``index_summary()``.
        """
        store = cast("AbstractSessionStorage[Any]", self)
        taken = await store.take_user_values(user_id, model_class, keep)
        return [(value_id, require_index_summary(value)) for value_id, value in taken]
