"""UserRepository against a real in-memory SQLite database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Index, Integer, String, TypeDecorator, UniqueConstraint, event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool

from crudauth.constants import LOGICAL_FIELDS, REGISTRATION_GATED_FIELDS
from crudauth.exceptions import StoreUnavailableError
from crudauth.models.mixin import AuthUserMixin, make_auth_identity
from crudauth.repository import UserRepository


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):
    __tablename__ = "users"
    full_name: Mapped[str | None] = mapped_column(String(100), default=None)
    role: Mapped[str] = mapped_column(String(20), default="user")


class Legacy(Base):
    __tablename__ = "legacy_accounts"
    account_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email_address: Mapped[str] = mapped_column(String(320), unique=True)
    pw_hash: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(default=True)
    is_admin: Mapped[bool] = mapped_column(default=False)


class Shapes(Base):
    __tablename__ = "shapes"
    __table_args__ = (
        UniqueConstraint("by_constraint"),
        UniqueConstraint("pair_a", "pair_b"),
        Index("ix_shapes_by_index", "by_index", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    by_constraint: Mapped[str] = mapped_column(String(10))
    by_index: Mapped[str] = mapped_column(String(10))
    pair_a: Mapped[str] = mapped_column(String(10))
    pair_b: Mapped[str] = mapped_column(String(10))
    plain: Mapped[str] = mapped_column(String(10))


class Bounded(TypeDecorator[str]):
    impl = String(40)
    cache_ok = True


class Typed(Base):
    __tablename__ = "typed"
    id: Mapped[int] = mapped_column(primary_key=True)
    decorated: Mapped[str] = mapped_column(Bounded())
    variant: Mapped[str] = mapped_column(String(50).with_variant(String(30), "postgresql"))
    free_text: Mapped[str] = mapped_column(String())


PhoneShape = make_auth_identity(identifiers=["username"], recovery="phone", oauth=False)


class Member(Base, PhoneShape):
    __tablename__ = "members"
    phone: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)


class MfaUser(Base, make_auth_identity(mfa=True)):
    __tablename__ = "mfa_users"


class Bare(Base):
    __tablename__ = "bare"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(255))


@pytest.fixture
async def db() -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(
        "sqlite+aiosqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
    )
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        yield session
    await engine.dispose()


async def make_user(repo: UserRepository, db: AsyncSession, **values: Any) -> Any:
    data = {"email": "ann@example.com", "username": "Ann", "hashed_password": "x"}
    data.update(values)
    return await repo.create(db, data)


def test_unique_column_shapes() -> None:
    repo = UserRepository(Shapes)
    assert repo.is_unique_column("by_constraint") is True
    assert repo.is_unique_column("by_index") is True
    assert repo.is_unique_column("pair_a") is False
    assert repo.is_unique_column("plain") is False
    assert repo.is_unique_column("missing") is False


def test_unique_column_mixin_and_map() -> None:
    assert UserRepository(User).is_unique_column("email") is True
    assert UserRepository(User).is_unique_column("full_name") is False
    legacy = UserRepository(Legacy, column_map={"email": "email_address"})
    assert legacy.is_unique_column("email") is True


def test_string_length_through_decorators() -> None:
    repo = UserRepository(Typed)
    assert repo.string_length("decorated") == 40
    assert repo.string_length("variant") == 30
    assert repo.string_length("free_text") is None
    assert repo.string_length("id") is None
    assert UserRepository(User).string_length("email") == 320


def test_exceeds_length_measures_canonical_email() -> None:
    repo = UserRepository(User)
    assert repo.exceeds_length("username", "a" * 64) is None
    assert repo.exceeds_length("username", "a" * 65) == 64
    padded = "  " + "a" * 315 + "@x.io" + "  "
    assert len(padded) > 320
    assert repo.exceeds_length("email", padded) is None
    assert repo.exceeds_length("email", "a" * 320 + "@x.io") == 320
    assert repo.exceeds_length("username", 12345) is None


def test_rejects_unmapped_model() -> None:
    with pytest.raises(TypeError, match="user_model"):
        UserRepository(object)


async def test_create_canonicalizes_email(db: AsyncSession) -> None:
    repo = UserRepository(User)
    user = await make_user(repo, db, email="  Foo@X.COM ", ignored_key=1)
    assert user.email == "foo@x.com"
    assert user.id is not None
    assert user.role == "user"


async def test_create_canonicalizes_mapped_email(db: AsyncSession) -> None:
    repo = UserRepository(
        Legacy,
        column_map={"id": "account_id", "email": "email_address", "hashed_password": "pw_hash"},
    )
    user = await repo.create(db, {"email": " Legacy@Example.COM", "hashed_password": "h"})
    assert user.email_address == "legacy@example.com"
    assert await repo.get_by_email(db, "LEGACY@example.com") is user
    assert repo.user_id(user) == user.account_id


async def test_create_propagates_integrity_error(db: AsyncSession) -> None:
    repo = UserRepository(User)
    await make_user(repo, db)
    with pytest.raises(IntegrityError):
        await make_user(repo, db, username="other")
    await db.rollback()


async def test_get_by_id_coerces_string(db: AsyncSession) -> None:
    repo = UserRepository(User)
    user = await make_user(repo, db)
    assert await repo.get_by_id(db, str(user.id)) is user
    assert await repo.get_by_id(db, user.id) is user


async def test_get_by_id_skips_query_when_uncoercible(db: AsyncSession) -> None:
    repo = UserRepository(User)
    statements: list[str] = []
    engine = db.bind

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        for bad in ("abc", "", " 1", "1.5", "٤٢", str(2**63), True, None, 2**70):
            assert await repo.get_by_id(db, bad) is None
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert statements == []


async def test_email_lookup_folds_case_and_width(db: AsyncSession) -> None:
    repo = UserRepository(User)
    user = await make_user(repo, db, email="Foo@x.com")
    assert await repo.get_by_email(db, "FOO@x.com") is user
    assert await repo.get_by_email(db, " foo@X.com ") is user
    # Fullwidth letters fold to ASCII under NFKC.
    assert await repo.get_by_email(db, "ｆｏｏ@x.com") is user


async def test_username_lookup_folds_case(db: AsyncSession) -> None:
    repo = UserRepository(User)
    user = await make_user(repo, db, username="Bob")
    assert user.username == "Bob"
    assert await repo.get_by_username(db, "Bob") is user
    assert await repo.get_by_username(db, "BOB") is user
    assert await repo.get_by_username(db, "bob") is user
    assert await repo.get_by_username(db, "bobby") is None
    assert await repo.username_exists(db, "bOB") is True
    assert await repo.username_exists(db, "carol") is False


async def test_username_lookup_prefers_exact_match(db: AsyncSession) -> None:
    repo = UserRepository(Bare)
    lower = await repo.create(db, {"username": "dana", "hashed_password": "x"})
    upper = await repo.create(db, {"username": "DANA", "hashed_password": "x"})
    assert await repo.get_by_username(db, "DANA") is upper
    assert await repo.get_by_username(db, "dana") is lower
    assert await repo.get_by_username(db, "Dana") is lower


async def test_resolve_login_order_and_contract(db: AsyncSession) -> None:
    repo = UserRepository(User)
    user = await make_user(repo, db)
    assert await repo.resolve_login(db, "ANN@example.com") is user
    assert await repo.resolve_login(db, "ann") is user
    assert await repo.resolve_login(db, "nobody") is None
    username_only = UserRepository(User, login_fields=["username"])
    assert await username_only.resolve_login(db, "ann@example.com") is None


async def test_get_by_oauth(db: AsyncSession) -> None:
    repo = UserRepository(User)
    user = await make_user(repo, db, google_id="g-1")
    assert await repo.get_by_oauth(db, "google", "g-1") is user
    assert await repo.get_by_oauth(db, "google", "") is None
    assert await repo.get_by_oauth(db, "gitlab", "g-1") is None


async def test_increment_token_version(db: AsyncSession) -> None:
    repo = UserRepository(User)
    user = await make_user(repo, db)
    assert repo.token_version(user) == 0
    user = await repo.increment_token_version(db, user)
    assert repo.token_version(user) == 1
    await repo.increment_token_version(db, user)
    assert repo.token_version(user) == 2


async def test_increment_token_version_is_one_update(db: AsyncSession) -> None:
    repo = UserRepository(User)
    user = await make_user(repo, db)
    statements: list[str] = []
    engine = db.bind

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        await repo.increment_token_version(db, user)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    updates = [statement for statement in statements if statement.startswith("UPDATE")]
    assert len(updates) == 1
    assert "token_version + " in updates[0] or "coalesce(users.token_version" in updates[0]


async def test_increment_without_column_is_noop(db: AsyncSession) -> None:
    repo = UserRepository(Bare)
    user = await repo.create(db, {"username": "eve", "hashed_password": "x"})
    assert await repo.increment_token_version(db, user) is user
    assert repo.token_version(user) == 0


async def test_update_canonicalizes_email(db: AsyncSession) -> None:
    repo = UserRepository(User)
    user = await make_user(repo, db)
    user = await repo.update(db, user, {"email": " NEW@Example.com", "full_name": "Ann A."})
    assert user.email == "new@example.com"
    assert user.full_name == "Ann A."


async def test_claim_totp_step_once(db: AsyncSession) -> None:
    repo = UserRepository(MfaUser)
    user = await repo.create(db, {"email": "m@x.io", "username": "m", "hashed_password": "x"})
    assert await repo.claim_totp_step(db, user, 100) is True
    assert await repo.claim_totp_step(db, user, 100) is False
    assert await repo.claim_totp_step(db, user, 99) is False
    assert await repo.claim_totp_step(db, user, 101) is True
    assert user.totp_last_step == 101


async def test_update_if_unchanged(db: AsyncSession) -> None:
    repo = UserRepository(User)
    user = await make_user(repo, db)
    assert await repo.update_if_unchanged(db, user, {"full_name": None}, {"full_name": "A"})
    assert user.full_name == "A"
    assert not await repo.update_if_unchanged(db, user, {"full_name": None}, {"full_name": "B"})
    assert user.full_name == "A"


async def test_mark_recovery_verified(db: AsyncSession) -> None:
    repo = UserRepository(Member, login_fields=["username"], recovery="phone")
    member = await repo.create(db, {"username": "p", "hashed_password": "x", "phone": "+1"})
    assert repo.recovery_verified(member) is False
    await repo.mark_recovery_verified(db, member)
    assert member.phone_verified is True
    assert repo.recovery_verified(member) is True
    assert repo.email_verified(member) is False


async def test_refresh_if_expired(db: AsyncSession) -> None:
    repo = UserRepository(User)
    user = await make_user(repo, db)
    db.expire(user)
    user = await repo.refresh_if_expired(db, user)
    assert user.username == "Ann"


def test_status_readers_degrade_without_columns() -> None:
    repo = UserRepository(Bare, recovery="email")
    row = Bare(id=1, username="x", hashed_password="h")
    assert repo.is_active(row) is True
    assert repo.is_superuser(row) is False
    assert repo.email_verified(row) is False
    assert repo.recovery_verified(row) is False
    assert repo.token_version(row) == 0
    assert repo.get(row, "email", "fallback") == "fallback"


def test_to_dict_is_contract_only() -> None:
    repo = UserRepository(MfaUser)
    row = MfaUser(id=3, email="a@b.c", username="a", hashed_password="h", totp_secret_encrypted="s")
    data = repo.to_dict(row)
    assert data["hashed_password"] == "h"
    assert "totp_secret_encrypted" not in data
    assert "mfa_recovery_codes" not in data
    assert "created_at" not in data
    assert set(data) <= set(LOGICAL_FIELDS)
    assert "full_name" not in UserRepository(User).to_dict(User(username="a"))


def test_filter_registration_default_allowlist() -> None:
    repo = UserRepository(User)
    data = {name: True for name in REGISTRATION_GATED_FIELDS}
    data.update({"email": "e", "username": "u", "full_name": "F", "role": "admin"})
    assert repo.filter_registration_data(data) == {"email": "e", "username": "u"}


def test_filter_registration_opt_in_keeps_gate() -> None:
    repo = UserRepository(User, register_extra_fields={"full_name", "is_superuser"})
    kept = repo.filter_registration_data(
        {"full_name": "F", "is_superuser": True, "email_verified": True, "role": "admin"}
    )
    assert kept == {"full_name": "F"}
    assert repo.droppable_register_fields(["role", "full_name", "nonsense", "id"]) == {"role"}


def test_mapped_alias_is_gated() -> None:
    repo = UserRepository(
        Legacy, column_map={"is_superuser": "is_admin"}, register_extra_fields={"is_admin"}
    )
    assert repo.filter_registration_data({"is_admin": True}) == {}
    assert repo.gated_register_fields(["is_admin", "email"]) == {"is_admin"}
    assert repo.filter_provisioning_data({"is_admin": True}) == {}


def test_recovery_verified_column_is_gated() -> None:
    repo = UserRepository(
        Member,
        login_fields=["username"],
        recovery="phone",
        register_extra_fields={"phone", "phone_verified"},
    )
    kept = repo.filter_registration_data({"phone": "+1", "phone_verified": True})
    assert kept == {"phone": "+1"}
    assert repo.filter_provisioning_data({"phone_verified": True, "phone": "+2"}) == {"phone": "+2"}


def test_provisioning_warns_once_per_key(caplog: pytest.LogCaptureFixture) -> None:
    repo = UserRepository(User)
    with caplog.at_level(logging.WARNING, logger="crudauth"):
        assert repo.filter_provisioning_data({"is_superuser": True, "role": "owner"}) == {
            "role": "owner"
        }
        repo.filter_provisioning_data({"is_superuser": True})
        repo.filter_provisioning_data({"email_verified": True})
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "new_user_fields" in messages[0]
    assert "'is_superuser'" in messages[0]
    assert "'email_verified'" in messages[1]


async def test_unreachable_database_is_503(
    db: AsyncSession, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = UserRepository(User)

    async def fail(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT secret@example.com", {}, Exception("down"))

    monkeypatch.setattr(db, "execute", fail)
    with caplog.at_level(logging.ERROR, logger="crudauth.repository"):
        with pytest.raises(StoreUnavailableError) as caught:
            await repo.get_by_email(db, "secret@example.com")
    assert caught.value.status_code == 503
    assert caught.value.store == "user database"
    errors = [record for record in caplog.records if record.name == "crudauth.repository"]
    assert len(errors) == 1
    assert "secret@example.com" not in errors[0].getMessage()


async def test_sql_mistake_is_not_503(db: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = UserRepository(User)

    async def fail(*args: Any, **kwargs: Any) -> Any:
        raise ProgrammingError("SELECT nonsense", {}, Exception("syntax error"))

    monkeypatch.setattr(db, "execute", fail)
    # A 503 would tell clients to retry a request that fails the same way every time.
    with pytest.raises(ProgrammingError):
        await repo.get_by_email(db, "someone@example.com")


async def test_dropped_connection_is_503(db: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = UserRepository(User)

    async def fail(*args: Any, **kwargs: Any) -> Any:
        raise DBAPIError("SELECT 1", {}, Exception("closed"), connection_invalidated=True)

    monkeypatch.setattr(db, "execute", fail)
    with pytest.raises(StoreUnavailableError):
        await repo.get_by_email(db, "someone@example.com")


async def test_integrity_error_is_not_503(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = UserRepository(User)

    async def fail(*args: Any, **kwargs: Any) -> Any:
        raise IntegrityError("INSERT", {}, Exception("unique"))

    monkeypatch.setattr(db, "commit", fail)
    with pytest.raises(IntegrityError):
        await make_user(repo, db)
