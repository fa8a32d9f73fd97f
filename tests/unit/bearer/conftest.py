"""Fixtures of the bearer unit tests."""

from __future__ import annotations

import pytest

from clock_support import START, FrozenClock
from crudauth.transports.bearer import tokens


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """Freeze the clock the token module reads at ``START``."""
    frozen = FrozenClock(START)
    monkeypatch.setattr(tokens, "time", frozen)
    return frozen
