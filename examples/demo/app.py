"""A small crudauth app: SQLite users, in-memory sessions, cookies and bearer tokens.

Run it with ``make demo`` (``PORT=NNNN make demo`` picks the port). Set ``DATABASE_URL``
to use another database for users and ``REDIS_URL`` to keep sessions, CSRF tokens and
counters in Redis. ``WEB_CONCURRENCY=N`` runs N workers; without ``REDIS_URL`` they
share sessions and counters through tables in the users' database.

Two-factor sign-in is on: the account page enrols an authenticator app. TOTP secrets
are encrypted with ``CRUDAUTH_MFA_KEY`` (a Fernet key), else with a key made per start
for one worker, or once under ``var/`` for several. The default SQLite file's name
carries a digest of the tables' columns, so a demo whose model changed starts on a new
file instead of failing on an old one.

``OIDC_ISSUER`` and ``OIDC_CLIENT_ID`` add sign-in through an OpenID Connect provider,
such as ``python examples/fake_oidc_provider.py --port 9000``; see ``oidc.py``.

Email verification and password reset are on, and mail goes to a development outbox
instead of a mail server: ``/dev/outbox`` lists each message with its link. Links are
paths on the demo itself (``/reset-password?token=...``) unless ``DEMO_FRONTEND_URL``
names another origin.

Passkeys are on. Browsers accept them only on a host name, so open the demo at
``http://localhost:PORT``. ``DEMO_PASSKEY_RP_ID`` (default ``localhost``) and
``DEMO_PASSKEY_ORIGIN`` (default ``http://localhost:$PORT``, port 8000 when ``PORT`` is
unset) name another host.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from deployment import create_tables, name_worker, secret_key, shared_state, worker_count
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from oidc import oidc_settings, sign_in_links
from outbox import OutboxBase, OutboxSender, build_outbox_router, new_device_notifier
from pydantic import BaseModel, Field
from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import (
    AuthHooks,
    BearerTransport,
    CookieConfig,
    CRUDAuth,
    EmailConfig,
    MfaConfig,
    Principal,
    SessionTransport,
    SudoConfig,
    make_auth_identity,
)
from crudauth.passkeys import PasskeyConfig

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE.parents[1] / "var"


class Base(DeclarativeBase):
    pass


class User(Base, make_auth_identity(mfa=True)):  # type: ignore[misc]
    __tablename__ = "users"
    # Links accounts to the optional OpenID Connect provider (see oidc.py).
    oidc_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)


def mfa_key(data_dir: Path) -> str:
    """Return ``CRUDAUTH_MFA_KEY``, else a Fernet key every worker of this start shares.

    One worker makes a key per start, so secrets enrolled before a restart stop
    working. Several workers must agree on one key, so it is made once under
    ``data_dir``, the first worker to link its candidate file winning.
    """
    from cryptography.fernet import Fernet

    configured = os.environ.get("CRUDAUTH_MFA_KEY")
    if configured:
        return configured
    if worker_count() == 1:
        return Fernet.generate_key().decode()
    data_dir.mkdir(exist_ok=True)
    path = data_dir / "mfa_key"
    candidate = data_dir / f".mfa_key.{os.getpid()}"
    candidate.write_text(Fernet.generate_key().decode(), encoding="utf-8")
    candidate.chmod(0o600)
    try:
        os.link(candidate, path)
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return path.read_text(encoding="utf-8").strip()


def schema_digest() -> str:
    """Return a short digest of every demo table's column names."""
    columns = sorted(
        f"{table.name}.{column.name}"
        for metadata in (Base.metadata, OutboxBase.metadata)
        for table in metadata.tables.values()
        for column in table.columns
    )
    return hashlib.sha256("\n".join(columns).encode()).hexdigest()[:10]


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    DATA_DIR.mkdir(exist_ok=True)
    return f"sqlite+aiosqlite:///{DATA_DIR / f'demo-{schema_digest()}.sqlite3'}"


def passkey_config() -> PasskeyConfig:
    rp_id = os.environ.get("DEMO_PASSKEY_RP_ID", "localhost")
    port = os.environ.get("PORT", "8000")
    origin = os.environ.get("DEMO_PASSKEY_ORIGIN", f"http://{rp_id}:{port}")
    return PasskeyConfig(rp_id=rp_id, rp_name="crudauth demo", origins=[origin])


engine = create_async_engine(database_url())
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


auth = CRUDAuth(
    session=get_db,
    user_model=User,
    # One key for every worker: CRUDAUTH_SECRET_KEY, else one generated under var/.
    SECRET_KEY=secret_key(DATA_DIR),
    transports=[SessionTransport(management_routes=True), BearerTransport(refresh="body")],
    # secure=False only because the demo serves plain http on localhost; never ship it.
    cookies=CookieConfig(secure=False),
    # A sign-in from an unseen browser and OS leaves a "was this you?" message.
    hooks=AuthHooks(on_new_device_sign_in=new_device_notifier(SessionLocal)),
    mfa=MfaConfig(issuer="crudauth demo", encryption_key=mfa_key(DATA_DIR)),
    # Adding or removing a passkey needs sudo mode: the password again, for 5 minutes.
    sudo=SudoConfig(),
    passkeys=passkey_config(),
    # Host-less links by default, so they open on whatever port the demo serves.
    email=EmailConfig(
        sender=OutboxSender(SessionLocal),
        frontend_url=os.environ.get("DEMO_FRONTEND_URL", ""),
        # The demo shows the new account at once. Keep the default (True) in production:
        # a uniform 202 then hides which addresses already have accounts.
        verify_on_register=False,
    ),
    **shared_state(engine, Base.metadata),
    **oidc_settings(),
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await create_tables(engine, Base.metadata)
    await create_tables(engine, OutboxBase.metadata)
    await auth.initialize()
    yield
    await auth.shutdown()
    await engine.dispose()


app = FastAPI(title="crudauth demo", lifespan=lifespan)
app.include_router(auth.router)
# Development only: the outbox page shows every reset link to anyone.
app.include_router(build_outbox_router(get_db))
name_worker(app)


def page(name: str) -> HTMLResponse:
    return HTMLResponse((HERE / "pages" / name).read_text(encoding="utf-8"))


@app.get("/", include_in_schema=False)
async def home() -> HTMLResponse:
    return page("index.html")


@app.get("/account", include_in_schema=False)
async def account() -> HTMLResponse:
    return page("account.html")


@app.get("/reset-password", include_in_schema=False)
async def reset_password_page() -> HTMLResponse:
    return page("reset.html")


@app.get("/verify-email", include_in_schema=False)
@app.get("/confirm-email-change", include_in_schema=False)
async def confirm_email_page() -> HTMLResponse:
    return page("verify.html")


@app.get("/hello")
async def hello(principal: Principal = Depends(auth.current_user())) -> dict[str, object]:
    return {"hello": principal.user_id, "via": principal.transport}


class QrIn(BaseModel):
    text: str = Field(max_length=512)


@app.post("/demo/qr", include_in_schema=False)
async def qr_code(body: QrIn, _me: Principal = Depends(auth.current_user())) -> dict[str, str]:
    """Render ``text`` (an otpauth URI) as an SVG QR code in a data URI.

    Drawn on the server so the secret never goes to a third-party QR service. segno
    comes with the dev extra; without it the page shows only the secret.
    """
    try:
        import segno
    except ImportError:
        raise HTTPException(501, "QR codes need the segno package") from None
    return {"svg": segno.make(body.text, error="m").svg_data_uri(scale=5, border=2)}


class SudoIn(BaseModel):
    password: str = Field(max_length=1024)


@app.post("/demo/sudo", include_in_schema=False)
async def enter_sudo(
    body: SudoIn, request: Request, me: Principal = Depends(auth.current_user())
) -> dict[str, str]:
    """Confirm the password to enter sudo mode, which passkey changes require."""
    assert auth.sudo is not None
    until = await auth.sudo.elevate(me, body.password, request=request)
    return {"elevated_until": until.isoformat()}


@app.get("/sign-in-links", include_in_schema=False)
async def external_sign_in_links() -> list[dict[str, str]]:
    return sign_in_links()


@app.get("/health", include_in_schema=False)
async def health() -> dict[str, str]:
    return {"status": "ok"}
