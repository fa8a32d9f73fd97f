"""``MfaConfig`` validation and the facade's MFA and sudo construction checks."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI

from crudauth import AuthUserMixin, CRUDAuth, MfaConfig, SudoConfig
from crudauth.mfa.wiring import build_mfa_service
from crudauth.storage.backends.memory import MemorySessionStorage
from crudauth.transports.bearer import BearerTransport
from mfa_support import MFA_KEY, mfa_model

SECRET = "unit-secret-key-0123456789-0123456789"


async def get_db() -> Any:
    yield None


def plain_model() -> type[Any]:
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        pass

    class User(Base, AuthUserMixin):
        __tablename__ = "users"

    return User


def route_paths(router: Any) -> set[str]:
    app = FastAPI()
    app.include_router(router)
    return set(app.openapi()["paths"])


def build(**kwargs: Any) -> CRUDAuth:
    kwargs.setdefault("user_model", mfa_model())
    kwargs.setdefault("warn_on_memory_backend", False)
    return CRUDAuth(session=get_db, SECRET_KEY=SECRET, **kwargs)


def test_config_defaults_and_keys() -> None:
    config = MfaConfig(issuer="App", encryption_key=[b"k1", "", " ", "k2"])
    assert config.encryption_keys == ["k1", "k2"]
    assert config.required is False
    assert config.oauth is False
    assert (config.challenge_ttl_seconds, config.max_code_attempts) == (300, 5)
    assert config.recovery_code_count == 10
    assert MfaConfig(issuer="App", encryption_key="k").encryption_keys == ["k"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"issuer": "", "encryption_key": "k"},
        {"issuer": "App", "encryption_key": ""},
        {"issuer": "App", "encryption_key": []},
        {"issuer": "App", "encryption_key": "k", "challenge_ttl_seconds": 0},
        {"issuer": "App", "encryption_key": "k", "max_code_attempts": -1},
        {"issuer": "App", "encryption_key": "k", "recovery_code_count": True},
    ],
)
def test_config_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        MfaConfig(**kwargs)


def test_facade_wires_mfa() -> None:
    auth = build(mfa=MfaConfig(issuer="App", encryption_key=MFA_KEY))
    assert auth.mfa is not None
    assert auth.runtime.mfa is auth.mfa
    paths = route_paths(auth.router)
    assert {"/mfa/verify", "/mfa/challenge", "/mfa", "/mfa/totp/setup"} <= paths
    assert {"/mfa/totp/confirm", "/mfa/totp/disable", "/mfa/recovery-codes/regenerate"} <= paths
    assert len(route_paths(auth.mfa_router)) == 7


def test_facade_without_mfa() -> None:
    auth = build()
    assert auth.mfa is None
    assert auth.sudo is None
    assert not any(path.startswith("/mfa") for path in route_paths(auth.router))
    with pytest.raises(RuntimeError):
        auth.mfa_router
    with pytest.raises(RuntimeError):
        auth.require_sudo()


def test_missing_mfa_columns_are_listed() -> None:
    with pytest.raises(ValueError) as raised:
        build(user_model=plain_model(), mfa=MfaConfig(issuer="App", encryption_key=MFA_KEY))
    message = str(raised.value)
    for column in ("totp_secret_encrypted", "totp_confirmed_at", "totp_last_step"):
        assert column in message
    assert "make_auth_identity(mfa=True)" in message


def test_encryption_key_must_differ_from_secret_key() -> None:
    with pytest.raises(ValueError) as raised:
        build(mfa=MfaConfig(issuer="App", encryption_key=[MFA_KEY, SECRET]))
    assert "SECRET_KEY" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_invalid_fernet_key_is_rejected() -> None:
    with pytest.raises(ValueError) as raised:
        build(mfa=MfaConfig(issuer="App", encryption_key="not-a-fernet-key"))
    assert "Fernet" in str(raised.value)


def test_memory_warning_names_the_mfa_store(caplog: Any) -> None:
    with caplog.at_level(logging.WARNING, logger="crudauth"):
        build(mfa=MfaConfig(issuer="App", encryption_key=MFA_KEY), warn_on_memory_backend=True)
    assert "MFA store" in caplog.text


def test_oauth_without_mfa_challenge_warns(caplog: Any) -> None:
    auth = build()
    store: MemorySessionStorage[Any] = MemorySessionStorage("mfa_challenge:", 300)
    required = MfaConfig(issuer="App", encryption_key=Fernet.generate_key(), required=True)
    with caplog.at_level(logging.WARNING, logger="crudauth"):
        build_mfa_service(auth.runtime, required, store, oauth_configured=True)
    assert "OAuth" in caplog.text
    caplog.clear()
    optional = MfaConfig(issuer="App", encryption_key=Fernet.generate_key())
    with caplog.at_level(logging.WARNING, logger="crudauth"):
        build_mfa_service(auth.runtime, optional, store, oauth_configured=True)
    assert caplog.text == ""


def test_sudo_needs_a_session_transport() -> None:
    with pytest.raises(ValueError) as raised:
        build(sudo=SudoConfig(), transports=[BearerTransport()])
    assert "SessionTransport" in str(raised.value)


def test_sudo_wiring() -> None:
    auth = build(
        sudo=SudoConfig(window_seconds=60), mfa=MfaConfig(issuer="A", encryption_key=MFA_KEY)
    )
    assert auth.sudo is not None
    assert auth.sudo.config.window_seconds == 60
    assert auth.sudo.session_manager is auth.sessions
    assert auth.sudo.mfa is auth.mfa
    assert auth.sudo.backend is auth.rate_limiter
    assert callable(auth.require_sudo())
    assert SudoConfig() == SudoConfig(window_seconds=300, max_attempts=3, lockout_seconds=900)
