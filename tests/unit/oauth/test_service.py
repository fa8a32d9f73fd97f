"""OAuthAccountService on a real SQLite database: usernames, retries, limits, claims."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool

from crudauth.exceptions import OAuthAccountException
from crudauth.models.mixin import make_auth_identity
from crudauth.oauth import OAuthAccountService, OAuthUserInfo
from crudauth.oauth.usernames import sanitize_username, unique_username, username_candidate
from crudauth.repository import UserRepository


class Base(DeclarativeBase):
    pass


class User(Base, make_auth_identity(mfa=True)):  # type: ignore[misc]
    __tablename__ = "users"
    nickname: Mapped[str | None] = mapped_column(String(40), default=None)


class ShortEmail(Base):
    __tablename__ = "short_email_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(20), unique=True)
    username: Mapped[str] = mapped_column(String(10), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    email_verified: Mapped[bool] = mapped_column(default=False)
    google_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    oauth_provider: Mapped[str | None] = mapped_column(String(32), default=None)


@pytest.fixture
async def db() -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(
        "sqlite+aiosqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        yield session
    await engine.dispose()


def profile(**changes: Any) -> OAuthUserInfo:
    values: dict[str, Any] = {
        "provider": "google",
        "provider_user_id": "g-1",
        "email": "Jane.Doe@Example.com",
        "email_verified": True,
        "name": "Jane Doe",
    }
    values.update(changes)
    return OAuthUserInfo(**values)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jane Doe", "jane_doe"),
        ("__J__", "user_j"),
        ("É", "user"),
        ("a" * 40, "a" * 32),
        ("x" * 31 + "-y", "x" * 31),
        ("...", "user"),
    ],
)
def test_sanitize_username(raw: str, expected: str) -> None:
    assert sanitize_username(raw) == expected


def test_username_candidate_order() -> None:
    assert username_candidate(profile(username="handle")) == "handle"
    assert username_candidate(profile(given_name="Jane")) == "Jane"
    assert username_candidate(profile()) == "Jane Doe"
    assert username_candidate(profile(name=None)) == "Jane.Doe"
    assert username_candidate(profile(name=None, email=None)) == "user"


async def test_unique_username_suffixes() -> None:
    taken = {"jane", "jane_1", "jane_2"}

    async def is_taken(name: str) -> bool:
        return name in taken

    assert await unique_username("jane", is_taken) == "jane_3"
    assert await unique_username("free", is_taken) == "free"


async def test_unique_username_random_fallback() -> None:
    async def always(name: str) -> bool:
        return True

    name = await unique_username("j" * 32, always)
    base, _, suffix = name.rpartition("_")
    assert len(name) <= 32
    assert len(suffix) == 8
    assert base.startswith("j")


async def test_create_sets_owned_fields(db: AsyncSession) -> None:
    seen: list[Any] = []

    def fields(ctx: Any) -> dict[str, Any]:
        seen.append(ctx)
        return {"nickname": ctx.suggested_name, "email_verified": False, "is_superuser": True}

    service = OAuthAccountService(
        UserRepository(User), fields, {"nickname": "default", "is_active": True}
    )
    user, created = await service.get_or_create_user(profile(), db)
    assert created is True
    assert user.email == "jane.doe@example.com"
    assert user.google_id == "g-1"
    assert user.email_verified is True
    assert user.is_superuser is False
    assert user.nickname == "Jane Doe"
    assert user.username == "jane_doe"
    assert user.oauth_created_at is not None
    assert seen[0].source == "oauth"
    assert seen[0].username == "jane_doe"
    again, created_again = await service.get_or_create_user(profile(), db)
    assert again.id == user.id
    assert created_again is False
    assert len(seen) == 1


async def test_integrity_error_retries_once(db: AsyncSession, monkeypatch: Any) -> None:
    repo = UserRepository(User)
    real_create = repo.create
    attempts: list[dict[str, Any]] = []

    async def flaky_create(session: AsyncSession, values: Any) -> Any:
        attempts.append(dict(values))
        if len(attempts) == 1:
            raise IntegrityError("INSERT", {}, Exception("username taken"))
        return await real_create(session, values)

    monkeypatch.setattr(repo, "create", flaky_create)
    user, created = await OAuthAccountService(repo).get_or_create_user(profile(), db)
    assert created is True
    assert len(attempts) == 2
    assert attempts[0]["username"] == "jane_doe"
    assert user.username.startswith("jane_doe_")
    assert len(user.username) == len("jane_doe_") + 8


async def test_second_integrity_error_propagates(db: AsyncSession, monkeypatch: Any) -> None:
    repo = UserRepository(User)

    async def always_fails(session: AsyncSession, values: Any) -> Any:
        raise IntegrityError("INSERT", {}, Exception("taken"))

    monkeypatch.setattr(repo, "create", always_fails)
    with pytest.raises(IntegrityError):
        await OAuthAccountService(repo).get_or_create_user(profile(), db)


async def test_email_too_long_refused(db: AsyncSession) -> None:
    service = OAuthAccountService(UserRepository(ShortEmail))
    with pytest.raises(OAuthAccountException) as caught:
        await service.get_or_create_user(profile(email="much-too-long@example.com"), db)
    assert caught.value.code == "email_too_long"
    assert caught.value.status_code == 400
    user, _ = await service.get_or_create_user(profile(email="j@example.com", name="J" * 30), db)
    assert user.username == "j" * 10


async def test_claim_clears_mfa_columns(db: AsyncSession) -> None:
    repo = UserRepository(User)
    squatter = await repo.create(
        db,
        {
            "email": "jane.doe@example.com",
            "username": "squatter",
            "hashed_password": "$2b$04$abcdefghijklmnopqrstuu",
            "totp_secret_encrypted": "secret",
            "totp_last_step": 12,
            "mfa_recovery_codes": "[]",
        },
    )
    user, created = await OAuthAccountService(repo).get_or_create_user(profile(), db)
    assert created is False
    assert user.id == squatter.id
    assert user.totp_secret_encrypted is None
    assert user.totp_last_step is None
    assert user.mfa_recovery_codes is None
    assert user.hashed_password.startswith("!")
    assert user.token_version == 1


async def test_verified_link_keeps_credentials(db: AsyncSession) -> None:
    repo = UserRepository(User)
    owner = await repo.create(
        db,
        {
            "email": "jane.doe@example.com",
            "username": "owner",
            "hashed_password": "$2b$04$abcdefghijklmnopqrstuu",
            "email_verified": True,
            "totp_secret_encrypted": "secret",
        },
    )
    user, _ = await OAuthAccountService(repo).get_or_create_user(profile(), db)
    assert user.id == owner.id
    assert user.totp_secret_encrypted == "secret"
    assert user.hashed_password == "$2b$04$abcdefghijklmnopqrstuu"
    assert user.token_version == 0
    assert user.google_id == "g-1"
