"""IdentityConfig defaults and validation."""

from __future__ import annotations

import dataclasses

import pytest

from crudauth.identity import IdentityConfig


def test_defaults() -> None:
    config = IdentityConfig()
    assert config.login == ["email", "username"]
    assert config.recovery == "email"
    assert IdentityConfig().login is not config.login


def test_frozen_and_copied() -> None:
    fields = ["username"]
    config = IdentityConfig(login=fields, recovery=None)
    fields.append("email")
    assert config.login == ["username"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.recovery = "email"  # type: ignore[misc]


@pytest.mark.parametrize("login", [[], ["email", "email"], [""]])
def test_invalid_login(login: list[str]) -> None:
    with pytest.raises(ValueError, match=r"identity\.login"):
        IdentityConfig(login=login)


def test_login_string_rejected() -> None:
    with pytest.raises(TypeError, match=r"identity\.login"):
        IdentityConfig(login="email")  # type: ignore[arg-type]


def test_invalid_recovery() -> None:
    with pytest.raises(ValueError, match=r"identity\.recovery"):
        IdentityConfig(recovery="")
