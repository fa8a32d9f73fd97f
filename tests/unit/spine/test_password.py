"""PasswordPolicy rules, validators, description and context."""

from __future__ import annotations

import time
import unicodedata
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, field_validator

from crudauth.exceptions import PasswordPolicyException
from crudauth.password import PasswordContext, PasswordPolicy

REGISTER = PasswordContext(source="register", username="ann", email="ann@x.io")


async def test_default_minimum() -> None:
    policy = PasswordPolicy()
    assert await policy.check("abcdefgh", REGISTER) == []
    assert await policy.check("abcdefg", REGISTER) == [
        {
            "type": "string_too_short",
            "msg": "String should have at least 8 characters",
            "ctx": {"min_length": 8},
        }
    ]


async def test_length_counted_after_nfkc() -> None:
    policy = PasswordPolicy(min_length=3)
    # One ligature character expands to "ffi" under NFKC.
    assert await policy.check("\ufb03") == []
    assert len(unicodedata.normalize("NFKC", "\ufb03")) == 3


async def test_reports_every_unmet_rule() -> None:
    policy = PasswordPolicy(
        min_length=12,
        require_uppercase=True,
        require_lowercase=True,
        require_digit=True,
        require_special=True,
    )
    errors = await policy.check("short")
    assert [error["type"] for error in errors] == ["string_too_short"] + ["password_policy"] * 3
    assert [error["ctx"] for error in errors[1:]] == [
        {"requirement": "uppercase"},
        {"requirement": "digit"},
        {"requirement": "special"},
    ]
    assert errors[1]["msg"] == "Password should contain an uppercase letter"
    assert await policy.check("Long enough 1 pass") == []


async def test_space_counts_as_special() -> None:
    policy = PasswordPolicy(min_length=1, require_special=True)
    assert await policy.check("a b") == []
    assert await policy.check("ab") != []


async def test_too_long_checked_first() -> None:
    calls: list[str] = []

    def validator(password: str) -> None:
        calls.append(password)

    policy = PasswordPolicy(require_digit=True, validators=(validator,))
    huge = "x" * 10_000_000
    started = time.perf_counter()
    errors = await policy.check(huge)
    elapsed = time.perf_counter() - started
    assert errors == [
        {
            "type": "string_too_long",
            "msg": "String should have at most 4096 characters",
            "ctx": {"max_length": 4096},
        }
    ]
    assert calls == []
    assert elapsed < 0.05
    assert await PasswordPolicy().check("y" * 4096) == []


async def test_nul_characters_allowed() -> None:
    assert await PasswordPolicy().check("abc\x00defgh") == []


async def test_validators_run_only_after_rules() -> None:
    calls: list[str] = []

    def validator(password: str) -> None:
        calls.append(password)
        raise ValueError("Password is too common")

    policy = PasswordPolicy(validators=[validator])  # type: ignore[arg-type]
    assert isinstance(policy.validators, tuple)
    assert (await policy.check("short"))[0]["type"] == "string_too_short"
    assert calls == []
    assert await policy.check("password1") == [
        {"type": "password_policy", "msg": "Password is too common"}
    ]
    assert calls == ["password1"]


async def test_validator_stops_at_first_failure() -> None:
    calls: list[str] = []

    def first(password: str) -> None:
        calls.append("first")
        raise ValueError("")

    def second(password: str) -> None:
        calls.append("second")

    errors = await PasswordPolicy(validators=(first, second)).check("long enough")
    assert errors == [{"type": "password_policy", "msg": "Password doesn't meet the policy"}]
    assert calls == ["first"]


async def test_async_and_context_validators() -> None:
    seen: list[Any] = []

    async def not_username(password: str, context: PasswordContext) -> None:
        seen.append(context)
        if context.username and context.username in password:
            raise ValueError("Password must not contain the username")

    policy = PasswordPolicy(validators=(not_username,))
    errors = await policy.check("ann-is-great", REGISTER)
    assert errors == [{"type": "password_policy", "msg": "Password must not contain the username"}]
    assert seen == [REGISTER]
    assert await policy.check("something else", REGISTER) == []


async def test_validator_receives_nfkc_form() -> None:
    seen: list[str] = []
    policy = PasswordPolicy(validators=(seen.append,))
    await policy.check("\ufb01ne-password")
    assert seen == ["fine-password"]


async def test_pydantic_validation_error_entries() -> None:
    class Shape(BaseModel):
        value: str

        @field_validator("value")
        @classmethod
        def reject(cls, value: str) -> str:
            raise ValueError("bad shape")

    def validator(password: str) -> None:
        Shape(value=password)
        TypeAdapter(int).validate_python(password)

    errors = await PasswordPolicy(validators=(validator,)).check("long enough")
    assert len(errors) == 1
    assert errors[0]["type"] == "password_policy"
    assert "bad shape" in errors[0]["msg"]


async def test_enforce_raises_located_422() -> None:
    policy = PasswordPolicy()
    with pytest.raises(PasswordPolicyException) as caught:
        await policy.enforce("tiny-pw", REGISTER, field="new_password")
    assert caught.value.status_code == 422
    assert caught.value.errors[0]["loc"] == ["body", "new_password"]
    assert "tiny-pw" not in str(caught.value.detail)
    await policy.enforce("long enough", REGISTER)


def test_description() -> None:
    assert PasswordPolicy().description == "At least 8 characters."
    assert PasswordPolicy(min_length=1).description == "At least 1 character."
    full = PasswordPolicy(
        min_length=12, require_uppercase=True, require_lowercase=True, require_digit=True
    )
    assert full.description == (
        "At least 12 characters, including an uppercase letter, a lowercase letter and a digit."
    )


def test_body_field_documents_without_validating() -> None:
    policy = PasswordPolicy(min_length=10)

    class Body(BaseModel):
        password: policy.body_field()  # type: ignore[valid-type]

    assert Body(password="x").password == "x"
    schema = Body.model_json_schema()["properties"]["password"]
    assert schema["minLength"] == 10
    assert schema["description"] == "At least 10 characters."


@pytest.mark.parametrize("value", [0, -1, 4097])
def test_min_length_bounds(value: int) -> None:
    with pytest.raises(ValueError, match="min_length"):
        PasswordPolicy(min_length=value)


def test_validators_must_be_callable() -> None:
    with pytest.raises(TypeError, match="validators"):
        PasswordPolicy(validators=("not callable",))  # type: ignore[arg-type]


def test_context_for_user() -> None:
    class Repo:
        def get(self, user: Any, logical: str, default: Any = None) -> Any:
            return {"username": "ann", "email": "ann@x.io"}.get(logical, default)

    user = object()
    context = PasswordContext.for_user(Repo(), "change", user)  # type: ignore[arg-type]
    assert context == PasswordContext(source="change", username="ann", email="ann@x.io", user=user)
