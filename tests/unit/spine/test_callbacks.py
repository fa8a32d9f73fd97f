"""Arity detection of user callbacks."""

from __future__ import annotations

import functools
from typing import Any

from crudauth.utils.callbacks import takes_two_arguments


def one(value: str) -> None: ...


def two(value: str, context: Any) -> None: ...


def optional_second(value: str, context: Any = None) -> None: ...


def keyword_only(value: str, *, context: Any) -> None: ...


class Checker:
    def __call__(self, value: str, context: Any) -> None: ...


def test_takes_two_arguments() -> None:
    assert takes_two_arguments(two) is True
    assert takes_two_arguments(Checker()) is True
    assert takes_two_arguments(one) is False
    assert takes_two_arguments(optional_second) is False
    assert takes_two_arguments(keyword_only) is False
    assert takes_two_arguments(functools.partial(two, "x")) is False


async def async_two(value: str, context: Any) -> None: ...


def test_async_and_uninspectable() -> None:
    assert takes_two_arguments(async_two) is True
    assert takes_two_arguments(print) is False
