"""UserRowCache: lifetime, size bound, and loads that overlap a write."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from crudauth.user_cache import UserCacheConfig, UserRowCache


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("eager_accounts.id"))


class EagerAccount(Base):
    __tablename__ = "eager_accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teams: Mapped[list[Team]] = relationship(lazy="selectin")


def row(user_id: int) -> Account:
    return Account(id=user_id, name=f"user-{user_id}")


@pytest.mark.parametrize("kwargs", [{"ttl": 0}, {"ttl": -1}, {"max_entries": 0}])
def test_config_rejects_invalid_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="UserCacheConfig"):
        UserCacheConfig(**kwargs)


def test_eager_relationship_model_rejected() -> None:
    with pytest.raises(ValueError, match="teams"):
        UserRowCache(EagerAccount, UserCacheConfig())


def test_least_recent_row_evicted() -> None:
    cache = UserRowCache(Account, UserCacheConfig(max_entries=2))
    for user_id in (1, 2, 3):
        cache.store(row(user_id), user_id, cache.begin_load())
    assert len(cache) == 2
    assert sorted(cache._entries) == ["2", "3"]


def test_load_overlapping_write_discarded() -> None:
    cache = UserRowCache(Account, UserCacheConfig())
    started = cache.begin_load()
    # Another request commits a change to some user while this load runs.
    cache.forget(7)
    cache.store(row(1), 1, started)
    assert len(cache) == 0
    cache.store(row(1), 1, cache.begin_load())
    assert len(cache) == 1


def test_forget_and_clear_drop_rows() -> None:
    cache = UserRowCache(Account, UserCacheConfig())
    for user_id in (1, 2):
        cache.store(row(user_id), user_id, cache.begin_load())
    cache.forget("1")
    assert sorted(cache._entries) == ["2"]
    cache.clear()
    assert len(cache) == 0
