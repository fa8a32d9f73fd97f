"""The store backends the race tests run on."""

from __future__ import annotations

from security_support import backend

__all__ = ["backend"]
