"""Helpers for MFA and sudo tests: a user model with MFA columns, a frozen clock, and
codes from pyotp, an implementation independent of crudauth's own TOTP code."""

from __future__ import annotations

from typing import Any

import pyotp
from cryptography.fernet import Fernet
from sqlalchemy.orm import DeclarativeBase

from crudauth import MfaConfig, make_auth_identity

# A fixed instant in the middle of a 30-second step (step 56666666, 10 s into it).
T0 = 1_699_999_990.0
MFA_KEY = Fernet.generate_key().decode()


def mfa_model() -> type[Any]:
    """Return a fresh ``users`` model with the four MFA columns."""

    class Base(DeclarativeBase):
        pass

    class User(Base, make_auth_identity(mfa=True)):  # type: ignore[misc]
        __tablename__ = "users"

    return User


def mfa_config(**overrides: Any) -> MfaConfig:
    values: dict[str, Any] = {"issuer": "Example App", "encryption_key": MFA_KEY}
    values.update(overrides)
    return MfaConfig(**values)


class FrozenClock:
    """A clock for ``MfaService.clock`` that moves only when told to."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def code_at(secret: str, when: float) -> str:
    """Return pyotp's six-digit code for ``secret`` at Unix time ``when``."""
    return str(pyotp.TOTP(secret).at(when))


async def enrol(test_app: Any, user_id: Any, clock: FrozenClock) -> tuple[str, list[str]]:
    """Enrol ``user_id`` through the service; return the secret and recovery codes.

    The clock then moves one step on, so the enrolment code's step is behind it.
    """
    mfa = test_app.auth.mfa
    async with test_app.sessionmaker() as db:
        user = await test_app.auth.repo.get_by_id(db, user_id)
        details = await mfa.begin_setup(db, user)
        secret = details["secret"]
        codes = await mfa.confirm_setup(db, user, code_at(secret, clock()))
    clock.advance(30)
    return secret, codes
