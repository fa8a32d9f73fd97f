"""A frozen stand-in for the ``time`` module, for code that reads ``time.time()``."""

from __future__ import annotations

# A fixed Unix time: 2030-03-17 17:46:40 UTC.
START = 1_900_000_000.0


class FrozenClock:
    """Stand-in for the ``time`` module: ``time()`` changes only when a test sets ``now``."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def time(self) -> float:
        return self.now
