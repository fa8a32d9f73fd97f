"""Password policy: built-in rules, extra validators and the OpenAPI description."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, ValidationError

from crudauth.constants import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from crudauth.exceptions import PasswordPolicyException
from crudauth.utils.callbacks import takes_two_arguments
from crudauth.utils.hashing import normalize_password

if TYPE_CHECKING:
    from crudauth.repository import UserRepository

__all__ = ["PasswordContext", "PasswordPolicy", "PasswordSource", "PasswordValidator"]

PasswordSource = Literal["register", "set", "change", "reset"]

DEFAULT_VALIDATOR_MESSAGE = "Password doesn't meet the policy"

_CHARACTER_RULES: tuple[tuple[str, str, Callable[[str], bool]], ...] = (
    ("uppercase", "an uppercase letter", str.isupper),
    ("lowercase", "a lowercase letter", str.islower),
    ("digit", "a digit", str.isdecimal),
    ("special", "a special character", lambda char: not char.isalnum()),
)


@dataclass(frozen=True)
class PasswordContext:
    """Owner of a password (username, email, row) and the flow that submitted it.

    Two-argument password validators receive it, so they can reject a password that
    contains the username, for example.

    Attributes:
        source: The flow: ``"register"``, ``"set"``, ``"change"`` or ``"reset"``.
        username: The account's username, if known.
        email: The account's email, if known.
        user: The user row; ``None`` at registration.
    """

    source: PasswordSource
    username: str | None = None
    email: str | None = None
    user: Any = None

    @classmethod
    def for_user(cls, repo: UserRepository, source: PasswordSource, user: Any) -> PasswordContext:
        """Build the context of an existing ``user``, read through ``repo``.

        Args:
            repo: The user repository.
            source: The flow that submitted the password.
            user: The user row.
        """
        return cls(
            source=source,
            username=repo.get(user, "username"),
            email=repo.get(user, "email"),
            user=user,
        )


PasswordValidator = Callable[[str], object] | Callable[[str, PasswordContext], object]
"""An extra check called with the NFKC password, plus the context when it takes two
positional parameters. It rejects by raising ``ValueError`` or a pydantic
``ValidationError``; an awaitable result is awaited."""


def _too_long_error() -> dict[str, Any]:
    return {
        "type": "string_too_long",
        "msg": f"String should have at most {MAX_PASSWORD_LENGTH} characters",
        "ctx": {"max_length": MAX_PASSWORD_LENGTH},
    }


@dataclass(frozen=True)
class PasswordPolicy:
    """Rules a new password must meet.

    Attributes:
        min_length: Minimum length, counted after NFKC normalization.
        require_uppercase: Require an uppercase letter.
        require_lowercase: Require a lowercase letter.
        require_digit: Require a digit.
        require_special: Require a character that is neither a letter nor a digit.
        validators: Extra checks, such as a breached-password lookup, run in order
            only when every built-in rule passed. Each is called with the NFKC
            password, plus a ``PasswordContext`` when it takes two positional
            arguments, and rejects by raising ``ValueError``. It may be async.

    Raises:
        TypeError: ``min_length`` is not an int, or a validator is not callable.
        ValueError: ``min_length`` is outside 1 to 4,096.

    Example:
        ```python
        CRUDAuth(..., password_policy=PasswordPolicy(min_length=12, require_digit=True))
        ```
    """

    min_length: int = MIN_PASSWORD_LENGTH
    require_uppercase: bool = False
    require_lowercase: bool = False
    require_digit: bool = False
    require_special: bool = False
    validators: tuple[PasswordValidator, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.min_length, bool) or not isinstance(self.min_length, int):
            raise TypeError(f"PasswordPolicy.min_length must be an int, not {self.min_length!r}")
        if not 1 <= self.min_length <= MAX_PASSWORD_LENGTH:
            raise ValueError(
                f"PasswordPolicy.min_length must be between 1 and {MAX_PASSWORD_LENGTH}, "
                f"not {self.min_length}"
            )
        validators = tuple(self.validators)
        for validator in validators:
            if not callable(validator):
                raise TypeError(
                    f"PasswordPolicy.validators must contain callables, not {validator!r}"
                )
        object.__setattr__(self, "validators", validators)

    def _required(self) -> list[tuple[str, str, Callable[[str], bool]]]:
        flags = {
            "uppercase": self.require_uppercase,
            "lowercase": self.require_lowercase,
            "digit": self.require_digit,
            "special": self.require_special,
        }
        return [rule for rule in _CHARACTER_RULES if flags[rule[0]]]

    async def check(
        self, password: str, context: PasswordContext | None = None
    ) -> list[dict[str, Any]]:
        """Return one error entry per unmet rule, or an empty list.

        Every built-in rule is reported. Validators run only when those pass, and
        stop at the first failure. A password over ``MAX_PASSWORD_LENGTH`` characters
        is reported alone, before normalization or any validator runs.

        Args:
            password: The password as typed.
            context: Who the password is for; ``None`` means a ``"set"`` flow with no
                known owner.

        Returns:
            Error entries with ``type``, ``msg`` and sometimes ``ctx``, in FastAPI's
            validation-error shape without ``loc``.
        """
        # Checked first and on the raw text, so a multi-megabyte body costs one len().
        if len(password) > MAX_PASSWORD_LENGTH:
            return [_too_long_error()]

        normalized = normalize_password(password)
        errors: list[dict[str, Any]] = []
        if len(normalized) < self.min_length:
            errors.append(
                {
                    "type": "string_too_short",
                    "msg": f"String should have at least {self.min_length} characters",
                    "ctx": {"min_length": self.min_length},
                }
            )
        for requirement, wording, predicate in self._required():
            if not any(predicate(char) for char in normalized):
                errors.append(
                    {
                        "type": "password_policy",
                        "msg": f"Password should contain {wording}",
                        "ctx": {"requirement": requirement},
                    }
                )
        if errors:
            return errors

        context = context or PasswordContext(source="set")
        for validator in self.validators:
            failure = await _run_validator(validator, normalized, context)
            if failure:
                return failure
        return []

    async def enforce(
        self, password: str, context: PasswordContext | None = None, *, field: str = "password"
    ) -> None:
        """Raise ``PasswordPolicyException`` (422) at ``field`` when a rule fails.

        Args:
            password: The password as typed.
            context: Who the password is for.
            field: The body field the errors are located at.

        Raises:
            PasswordPolicyException: At least one rule failed.

        Example:
            ```python
            await auth.password_policy.enforce(
                body.new_password,
                PasswordContext.for_user(auth.repo, "set", principal.user),
                field="new_password",
            )
            ```
        """
        errors = await self.check(password, context)
        if errors:
            raise PasswordPolicyException(field, errors)

    @property
    def description(self) -> str:
        """The built-in rules as one sentence, for docs and OpenAPI."""
        unit = "character" if self.min_length == 1 else "characters"
        text = f"At least {self.min_length} {unit}"
        wordings = [wording for _, wording, _ in self._required()]
        if wordings:
            listed = wordings[0]
            if len(wordings) > 1:
                listed = ", ".join(wordings[:-1]) + " and " + wordings[-1]
            text += f", including {listed}"
        return text + "."

    def body_field(self) -> Any:
        """Return the annotated ``str`` type for new-password fields of request bodies.

        It documents the rules and a ``minLength`` in OpenAPI but validates nothing, so
        a rejected password is never echoed back inside a pydantic validation error.
        """
        return Annotated[
            str,
            Field(
                description=self.description,
                json_schema_extra={"minLength": self.min_length},
            ),
        ]


async def _run_validator(
    validator: PasswordValidator, password: str, context: PasswordContext
) -> list[dict[str, Any]]:
    call: Callable[..., Any] = validator
    try:
        if takes_two_arguments(call):
            result = call(password, context)
        else:
            result = call(password)
        if inspect.isawaitable(result):
            await result
    except ValidationError as exc:
        # Checked before ValueError, of which pydantic's error is a subclass.
        return [{"type": "password_policy", "msg": error["msg"]} for error in exc.errors()]
    except ValueError as exc:
        return [{"type": "password_policy", "msg": str(exc) or DEFAULT_VALIDATOR_MESSAGE}]
    return []
