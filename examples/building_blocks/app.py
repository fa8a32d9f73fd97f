"""Own routes over crudauth's building blocks, with none of its routes mounted.

``/my-login`` and ``/my-token`` are hand-written, yet they inherit the login lockout,
the timing equalization, the disabled-account check, scope clamping and revocation,
because the hardening lives in ``authenticate_password`` and ``issue_tokens``.

Run: ``CRUDAUTH_SECRET_KEY=... uvicorn app:app --app-dir examples/building_blocks``
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request, Response
from pydantic import BaseModel, EmailStr
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from crudauth import (
    AuthUserMixin,
    BearerTransport,
    CRUDAuth,
    DuplicateValueException,
    Principal,
    SessionTransport,
    get_password_hash_async,
)

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///building_blocks.db")

engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):
    __tablename__ = "users"


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


auth = CRUDAuth(
    session=get_db,
    user_model=User,
    SECRET_KEY=os.environ["CRUDAUTH_SECRET_KEY"],
    transports=[
        SessionTransport(),
        BearerTransport(refresh="body", grantable_scopes=["read"]),
    ],
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await auth.initialize()
    yield
    await auth.shutdown()
    await engine.dispose()


# No auth.router here: every route below is the app's own.
app = FastAPI(lifespan=lifespan)


class SignupIn(BaseModel):
    email: EmailStr
    username: str
    password: str


@app.post("/my-signup")
async def my_signup(body: SignupIn, db: AsyncSession = Depends(get_db)) -> dict[str, Any]:
    # The same policy /register enforces; raises a 422 naming the field.
    await auth.validate_password(body.password, source="register")
    fields = {
        "email": body.email,
        "username": body.username,
        "hashed_password": await get_password_hash_async(body.password),
    }
    try:
        user = await auth.repo.create(db, fields)
    except IntegrityError:
        await db.rollback()
        raise DuplicateValueException("Email or username already registered") from None
    return {"id": auth.repo.user_id(user)}


@app.post("/my-login")
async def my_login(
    request: Request,
    response: Response,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    db: AsyncSession = Depends(get_db),
) -> dict[str, Any]:
    # 401 for a wrong password, unknown user or disabled account; 429 while locked out.
    user = await auth.authenticate_password(db, username, password, request=request)
    session_id, csrf_token = await auth.sessions.create_session(
        request,
        auth.repo.user_id(user),
        # Binds the session to the password epoch: a password change ends it.
        token_version=auth.repo.token_version(user),
    )
    auth.sessions.set_session_cookies(response, session_id, csrf_token)
    return {"csrf_token": csrf_token}


@app.post("/my-token")
async def my_token(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    scope: Annotated[str, Form()] = "",
    db: AsyncSession = Depends(get_db),
) -> dict[str, Any]:
    user = await auth.authenticate_password(db, username, password, request=request)
    # Scopes outside grantable_scopes are dropped, never granted.
    return await auth.issue_tokens(user, scopes=scope.split(), request=request)


@app.get("/dashboard")
async def dashboard(principal: Principal = Depends(auth.current_user())) -> dict[str, Any]:
    return {
        "user_id": principal.user_id,
        "via": principal.transport,
        "scopes": list(principal.scopes),
    }
