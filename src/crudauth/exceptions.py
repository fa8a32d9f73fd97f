"""HTTP exceptions raised by crudauth; each serializes as ``{"detail": ...}``."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import HTTPException

__all__ = [
    "BadRequestException",
    "CSRFException",
    "CustomException",
    "DuplicateValueException",
    "ForbiddenException",
    "NotFoundException",
    "OAuthAccountException",
    "PasswordPolicyException",
    "RateLimitException",
    "StoreUnavailableError",
    "SudoLockoutError",
    "UnauthorizedException",
    "UnprocessableEntityException",
    "ValueTooLongException",
]


class CustomException(HTTPException):
    """Base of every crudauth HTTP error; an empty detail becomes the status phrase.

    Args:
        status_code: The HTTP status.
        detail: The ``detail`` of the JSON body; any falsy value becomes the status's
            standard description.
        headers: Response headers to send with the error.
    """

    def __init__(
        self,
        status_code: int = 500,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not detail:
            detail = HTTPStatus(status_code).description
        super().__init__(
            status_code=status_code,
            detail=detail,
            headers=dict(headers) if headers else None,
        )


class BadRequestException(CustomException):
    """A 400 for a request crudauth cannot act on, such as an invalid token.

    Args:
        detail: The message; ``None`` uses the standard status description.
    """

    def __init__(self, detail: Any = None) -> None:
        super().__init__(400, detail)


class OAuthAccountException(BadRequestException):
    """A 400 whose ``code`` names the machine-readable reason.

    Args:
        code: The reason, such as ``"email_unverified"``; OAuth failure redirects and
            JSON bodies carry it.
        detail: The human-readable message.
    """

    def __init__(self, code: str, detail: Any = None) -> None:
        super().__init__(detail)
        self.code = code


class UnauthorizedException(CustomException):
    """A 401: no valid credential, or credentials that do not match.

    Args:
        detail: The message; ``None`` uses the standard status description.
        headers: Response headers, such as ``WWW-Authenticate``.
    """

    def __init__(self, detail: Any = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(401, detail, headers)


class ForbiddenException(CustomException):
    """A 403: the caller is known but may not do this.

    Args:
        detail: The message; ``None`` uses the standard status description.
    """

    def __init__(self, detail: Any = None) -> None:
        super().__init__(403, detail)


class NotFoundException(CustomException):
    """A 404 for a resource that does not exist or is not the caller's.

    Args:
        detail: The message; ``None`` uses the standard status description.
    """

    def __init__(self, detail: Any = None) -> None:
        super().__init__(404, detail)


class UnprocessableEntityException(CustomException):
    """A 422 for input that is well-formed but not acceptable.

    Args:
        detail: A message, or a list of errors in FastAPI's validation-error shape.
    """

    def __init__(self, detail: Any = None) -> None:
        super().__init__(422, detail)


class DuplicateValueException(CustomException):
    """A 422 for a value that must be unique and already belongs to an account.

    Args:
        detail: The message, such as ``"Username already taken"``.
    """

    def __init__(self, detail: Any = None) -> None:
        super().__init__(422, detail)


class ValueTooLongException(CustomException):
    """A 422 listing every field whose value exceeds its column length.

    The detail uses FastAPI's ``string_too_long`` error shape, located in the body.

    Args:
        limits: The column length of each field that is too long, by field name.
    """

    def __init__(self, limits: Mapping[str, int]) -> None:
        detail = [
            {
                "type": "string_too_long",
                "loc": ["body", field],
                "msg": f"String should have at most {limit} characters",
                "ctx": {"max_length": limit},
            }
            for field, limit in limits.items()
        ]
        super().__init__(422, detail)
        self.limits = dict(limits)


class PasswordPolicyException(CustomException):
    """A 422 in FastAPI's validation-error shape, one entry per unmet rule.

    Args:
        field: The body field of the password, such as ``"new_password"``.
        errors: One dict per unmet rule with ``type`` and ``msg``; ``loc`` is added.
    """

    def __init__(self, field: str, errors: list[dict[str, Any]]) -> None:
        located: list[dict[str, Any]] = []
        for error in errors:
            entry: dict[str, Any] = {"type": error.get("type", "password_policy")}
            entry["loc"] = ["body", field]
            entry.update({key: value for key, value in error.items() if key != "type"})
            located.append(entry)
        super().__init__(422, located)
        self.errors = located
        self.field = field


class RateLimitException(CustomException):
    """A 429 for a spent rate limit or a held login lockout.

    Args:
        detail: The message; ``None`` uses the standard status description.
        retry_after: Seconds until a retry may succeed, sent as ``Retry-After``
            (at least 1).
        headers: More response headers, such as the rate-limit headers.
    """

    def __init__(
        self,
        detail: Any = None,
        retry_after: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        merged = dict(headers or {})
        if retry_after is not None:
            merged["Retry-After"] = str(max(1, int(retry_after)))
        super().__init__(429, detail, merged or None)
        self.retry_after = retry_after


class SudoLockoutError(CustomException):
    """A 429 while sudo re-authentication is locked after too many failures.

    Args:
        detail: The message; ``None`` uses the standard status description.
        retry_after: Seconds until the lock ends, sent as ``Retry-After``; ``None`` or
            ``0`` sends no header.
    """

    def __init__(self, detail: Any = None, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(max(1, int(retry_after)))} if retry_after else None
        super().__init__(429, detail, headers)
        self.retry_after = retry_after


class CSRFException(CustomException):
    """A 403 that always carries ``X-CSRF-Error: true`` so clients can tell it apart.

    Args:
        detail: The message.
    """

    def __init__(self, detail: Any = "CSRF token validation failed") -> None:
        super().__init__(403, detail, {"X-CSRF-Error": "true"})


class StoreUnavailableError(CustomException):
    """A 503 raised when a store or the user database does not answer.

    The client sees only the generic detail ``"Authentication service unavailable."``.

    Args:
        store: Name of the failing component, for the log line.
        original_error: The exception the store raised.
    """

    def __init__(self, store: str, original_error: BaseException | None = None) -> None:
        super().__init__(503, "Authentication service unavailable.")
        self.store = store
        self.original_error = original_error
