"""Login-field order and recovery factor of an account shape."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["IdentityConfig"]


def _default_login() -> list[str]:
    return ["email", "username"]


@dataclass(frozen=True)
class IdentityConfig:
    """Login-field order and the recovery factor of an account shape.

    Whether these fields are unique columns of the user model is checked when
    ``CRUDAuth`` is built.

    Attributes:
        login: Logical fields a login identifier is tried against, in order. The first
            field that matches a row wins.
        recovery: The one field that recovery tokens are delivered to and verification
            proves; ``None`` disables recovery.

    Raises:
        TypeError: ``login`` is a string instead of a list.
        ValueError: ``login`` is empty, names a field twice or contains an invalid
            name, or ``recovery`` is neither a field name nor ``None``.

    Example:
        ```python
        IdentityConfig(login=["username"], recovery=None)
        ```
    """

    login: list[str] = field(default_factory=_default_login)
    recovery: str | None = "email"

    def __post_init__(self) -> None:
        if isinstance(self.login, str):
            raise TypeError(
                f"identity.login must be a list of field names, not the string {self.login!r}"
            )
        login = list(self.login)
        if not login:
            raise ValueError("identity.login must name at least one field")
        for name in login:
            if not isinstance(name, str) or not name:
                raise ValueError(f"identity.login contains an invalid field name {name!r}")
        if len(set(login)) != len(login):
            raise ValueError(f"identity.login lists a field twice: {login!r}")
        if self.recovery is not None and (not isinstance(self.recovery, str) or not self.recovery):
            raise ValueError(
                f"identity.recovery must be a field name or None, not {self.recovery!r}"
            )
        # Stored as a fresh list so later changes to the caller's sequence cannot alter
        # a frozen config.
        object.__setattr__(self, "login", login)
