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
    """Base of every crudauth HTTP error; an empty detail becomes the status phrase."""

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
    def __init__(self, detail: Any = None) -> None:
        super().__init__(400, detail)


class OAuthAccountException(BadRequestException):
    """A 400 whose ``code`` names the machine-readable reason."""

    def __init__(self, code: str, detail: Any = None) -> None:
        super().__init__(detail)
        self.code = code


class UnauthorizedException(CustomException):
    def __init__(self, detail: Any = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(401, detail, headers)


class ForbiddenException(CustomException):
    def __init__(self, detail: Any = None) -> None:
        super().__init__(403, detail)


class NotFoundException(CustomException):
    def __init__(self, detail: Any = None) -> None:
        super().__init__(404, detail)


class UnprocessableEntityException(CustomException):
    def __init__(self, detail: Any = None) -> None:
        super().__init__(422, detail)


class DuplicateValueException(CustomException):
    def __init__(self, detail: Any = None) -> None:
        super().__init__(422, detail)


class ValueTooLongException(CustomException):
    """A 422 listing every field whose value exceeds its column length."""

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
    """A 422 in FastAPI's validation-error shape, one entry per unmet rule."""

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
    def __init__(self, detail: Any = None, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(max(1, int(retry_after)))} if retry_after else None
        super().__init__(429, detail, headers)
        self.retry_after = retry_after


class CSRFException(CustomException):
    """A 403 that always carries ``X-CSRF-Error: true`` so clients can tell it apart."""

    def __init__(self, detail: Any = "CSRF token validation failed") -> None:
        super().__init__(403, detail, {"X-CSRF-Error": "true"})


class StoreUnavailableError(CustomException):
    """A 503 raised when a store or the user database does not answer.

    ``store`` names the failing component for the log line; the client sees only the
    generic detail.
    """

    def __init__(self, store: str, original_error: BaseException | None = None) -> None:
        super().__init__(503, "Authentication service unavailable.")
        self.store = store
        self.original_error = original_error
