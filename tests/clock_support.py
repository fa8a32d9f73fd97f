"""A frozen stand-in for the ``time`` module, for code that reads ``time.time()``."""

from __future__ import annotations

# A fixed Unix time in 2030, far from any real clock.
START = 1_900_000_000.0


class FrozenClock:
    """Stand-in for the ``time`` module: ``time()`` changes only when a test sets ``now``."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def time(self) -> float:
        return self.now
