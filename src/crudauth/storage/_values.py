"""Validate many stored JSON values in one call into pydantic-core.

A bulk read of hundreds of values (a sign-out of every device, a device list) spends
most of its Python time entering the validator once per value. Joining the values into
one JSON array and validating it with a ``TypeAdapter`` does the same work in one call,
in about half the time for 500 session records.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter

__all__ = ["validate_json_values"]

M = TypeVar("M", bound=BaseModel)

# One adapter per model class; a process has a handful of stored models.
_ADAPTER_CACHE_SIZE = 64


@lru_cache(maxsize=_ADAPTER_CACHE_SIZE)
def _list_adapter(model_class: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model_class])  # type: ignore[valid-type]


def validate_json_values(model_class: type[M], raws: Sequence[bytes | str]) -> list[M]:
    """Validate each raw JSON document into ``model_class``, in order.

    Args:
        model_class: The pydantic model of every value.
        raws: The stored JSON documents, as bytes or text.

    Returns:
        One model instance per document.

    Raises:
        pydantic.ValidationError: A document is not valid JSON for the model.
    """
    if len(raws) < 2:
        return [model_class.model_validate_json(raw) for raw in raws]
    values = _list_adapter(model_class).validate_json(_json_array(raws))
    if len(values) != len(raws):
        # A document holding two comma-separated values would shift every later value
        # onto the wrong id, so each document is validated alone, which rejects it.
        return [model_class.model_validate_json(raw) for raw in raws]
    return values


def _json_array(raws: Sequence[bytes | str]) -> bytes | str:
    """Join the documents into one JSON array, and encode text only when types mix."""
    texts = [raw for raw in raws if isinstance(raw, str)]
    if len(texts) == len(raws):
        # Text from the memory store or a decoding Redis client joins as it is.
        return "[" + ",".join(texts) + "]"
    encoded = [raw.encode() if isinstance(raw, str) else raw for raw in raws]
    return b"[" + b",".join(encoded) + b"]"
