"""Index summaries in the storage port: take a user's values, return a few fields.

A sign-out of every device ends hundreds of sessions but needs only a few fields of
each: its timestamps and the key of its CSRF token. A model that defines
``index_summary()`` returns those fields as a short text, and the Redis and memory
stores write that text next to the value's id in its owner's index each time the
value is stored. ``take_user_summaries`` then removes the values and returns their
summaries, so neither the whole values travel nor does the caller parse them. A store
without summaries, such as the database store or the default here, parses each value
and summarizes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel, ConfigDict, ValidationError

from crudauth.storage._values import validate_json_values

if TYPE_CHECKING:
    from crudauth.storage.base import AbstractSessionStorage

__all__ = [
    "UNREADABLE_SUMMARY",
    "IndexSummaries",
    "index_summary_of",
    "require_index_summary",
    "summarize_json_values",
]

M = TypeVar("M", bound=BaseModel)

# The summary of a removed value that could not be validated: it is gone all the
# same, and the caller learns only that it existed.
UNREADABLE_SUMMARY = ""


def index_summary_of(value: object) -> str | None:
    """Return the index summary of ``value``, or ``None`` when its model has none.

    A model has a summary when it defines a method ``index_summary()`` that returns
    the fields a bulk take needs, as text. An attribute of that name that cannot be
    called (a field, say) does not count.
    """
    method = getattr(type(value), "index_summary", None)
    if not callable(method):
        return None
    summary = method(value)
    return summary if isinstance(summary, str) else None


def require_index_summary(value: object) -> str:
    """Return the index summary of ``value``.

    Raises:
        TypeError: The model of ``value`` defines no ``index_summary()``.
    """
    summary = index_summary_of(value)
    if summary is None:
        raise TypeError(f"{type(value).__name__} defines no index_summary()")
    return summary


def summarize_json_values(model_class: type[M], raws: Sequence[bytes | str]) -> list[str]:
    """Validate removed values into ``model_class`` and return their summaries in order.

    A value that does not validate gets ``UNREADABLE_SUMMARY``, because the take has
    already removed it and raising would leave the rest of the caller's work undone.

    Raises:
        TypeError: ``model_class`` defines no ``index_summary()``.
    """
    try:
        return [require_index_summary(value) for value in validate_json_values(model_class, raws)]
    except ValidationError:
        pass
    summaries = []
    for raw in raws:
        try:
            value = model_class.model_validate_json(raw)
        except ValidationError:
            summaries.append(UNREADABLE_SUMMARY)
        else:
            summaries.append(require_index_summary(value))
    return summaries


class _OwnedValue(BaseModel):
    """Any stored JSON object, read for its owner and summarized afterwards."""

    model_config = ConfigDict(extra="allow")

    user_id: Any = None


class IndexSummaries:
    """The ``take_user_summaries`` method of the storage port, with its default."""

    async def take_user_summaries(
        self, user_id: Any, model_class: type[M], keep: Sequence[str] = ()
    ) -> list[tuple[str, str]]:
        """Remove every value ``user_id`` owns, except the ids in ``keep``.

        Works like ``take_user_values``, owner check included, but returns each
        removed value's index summary instead of the value. A value listed without
        a summary, such as one written before the store kept summaries, is read
        whole and summarized through ``model_class``, and one that does not
        validate into it gets ``UNREADABLE_SUMMARY``. This default reads every
        value that way, through ``take_user_values``. A sign-out of every device
        calls this method, so a store that changes how ``take_user_values`` takes
        values must change this method too, unless it keeps this default.

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
            pydantic.ValidationError: This default found a stored value that is not
                a JSON object, and removed nothing.
        """
        store = cast("AbstractSessionStorage[Any]", self)
        taken = await store.take_user_values(user_id, _OwnedValue, keep)
        raws = [value.model_dump_json() for _, value in taken]
        summaries = summarize_json_values(model_class, raws)
        return [
            (value_id, summary) for (value_id, _), summary in zip(taken, summaries, strict=True)
        ]
