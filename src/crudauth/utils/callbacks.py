"""Introspection of user-supplied callbacks."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["takes_two_arguments"]

_POSITIONAL_KINDS = (
    inspect.Parameter.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
)


def takes_two_arguments(func: Callable[..., Any]) -> bool:
    """Return whether ``func`` has at least two required positional parameters.

    crudauth calls such a callback with a second argument (a context object). Any other
    callable, including one whose signature cannot be read, gets one argument only.

    Args:
        func: The callback to inspect.

    Returns:
        ``True`` when ``func`` takes two or more positional arguments without defaults.
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return False
    required = [
        parameter
        for parameter in signature.parameters.values()
        if parameter.kind in _POSITIONAL_KINDS and parameter.default is inspect.Parameter.empty
    ]
    return len(required) >= 2
