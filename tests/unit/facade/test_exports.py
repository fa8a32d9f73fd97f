"""The public surface: the root exports and the module paths apps import from."""

from __future__ import annotations

import importlib

import pytest

import crudauth

ROOT_EXPORTS = frozenset(
    {
        "__version__",
        "AuthContext",
        "AuthHooks",
        "AuthUserMixin",
        "BadRequestException",
        "BearerTransport",
        "CookieConfig",
        "CRUDAuth",
        "CSRFException",
        "DatabaseStore",
        "DeliveryChannel",
        "DeliveryIntent",
        "DeliveryKind",
        "DuplicateValueException",
        "EmailChannel",
        "EmailConfig",
        "EmailContext",
        "EmailFlowResult",
        "EmailFlowService",
        "EmailSender",
        "ForbiddenException",
        "get_password_hash",
        "get_password_hash_async",
        "HookContext",
        "IdentityConfig",
        "is_unusable_password",
        "make_auth_identity",
        "make_unusable_password",
        "MfaConfig",
        "MfaService",
        "NewUserContext",
        "NewUserFields",
        "NotFoundException",
        "OAuthAccountException",
        "OAuthAccountService",
        "OAuthCredentials",
        "PasswordContext",
        "PasswordPolicy",
        "PasswordPolicyException",
        "Principal",
        "RateLimitException",
        "REGISTRATION_ALLOWED_FIELDS",
        "REGISTRATION_GATED_FIELDS",
        "safe_redirect_path",
        "SessionInfo",
        "SessionManager",
        "SessionTransport",
        "SudoConfig",
        "SudoLockoutError",
        "SudoManager",
        "Transport",
        "UnauthorizedException",
        "UnprocessableEntityException",
        "UserRepository",
        "ValueTooLongException",
        "verify_password",
        "verify_password_async",
    }
)


def test_root_all_is_exactly_the_public_surface() -> None:
    assert set(crudauth.__all__) == ROOT_EXPORTS
    assert len(crudauth.__all__) == len(ROOT_EXPORTS)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("crudauth.transports.session.management", "SessionInfo"),
        ("crudauth.models", "AuthUserMixin"),
        ("crudauth.models.mixin", "make_auth_identity"),
        ("crudauth.storage.backends.database", "DatabaseStore"),
        ("crudauth.storage", "DatabaseStore"),
        ("crudauth.core", "Transport"),
        ("crudauth.core", "CookieConfig"),
        ("crudauth.utils.http", "safe_redirect_path"),
        ("crudauth.transports.bearer.transport", "BearerTransport"),
        ("crudauth.transports.session.transport", "SessionTransport"),
    ],
)
def test_root_names_are_the_defining_objects(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(crudauth, name)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("crudauth.ratelimit", "LockoutConfig"),
        ("crudauth.ratelimit", "RateLimit"),
        ("crudauth.ratelimit", "KeyBy"),
        ("crudauth.utils", "canonical_email"),
        ("crudauth.utils", "get_client_ip"),
        ("crudauth.utils", "verify_plain_bcrypt"),
        ("crudauth.core", "AuthRuntime"),
        ("crudauth.exceptions", "CustomException"),
        ("crudauth.transports.bearer.tokens", "create_access_token"),
    ],
)
def test_names_kept_off_the_root(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name)
    assert name not in crudauth.__all__


def test_session_info_not_in_session_package() -> None:
    session_package = importlib.import_module("crudauth.transports.session")
    assert "SessionInfo" not in getattr(session_package, "__all__", ())
