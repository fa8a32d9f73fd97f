"""The store backends and user databases the race tests run on."""

from __future__ import annotations

import pytest

from security_support import backend
from support import user_db_params

__all__ = ["backend", "user_db"]


@pytest.fixture(params=user_db_params(sqlite="sqlite-file"))
def user_db(request: pytest.FixtureRequest) -> str:
    """A SQLite file rather than the shared in-memory connection, or PostgreSQL."""
    return str(request.param)
