"""Validating many stored JSON documents in one call."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from crudauth.storage._values import validate_json_values


class Note(BaseModel):
    text: str


def test_validate_keeps_order_of_bytes_and_text() -> None:
    raws: list[bytes | str] = [b'{"text":"a"}', '{"text":"b"}', b'{"text":"c"}']
    assert [note.text for note in validate_json_values(Note, raws)] == ["a", "b", "c"]


def test_validate_empty_list() -> None:
    assert validate_json_values(Note, []) == []


def test_validate_rejects_two_value_document() -> None:
    # Joined, these read as four valid notes, and "b" would pair with the second id.
    raws: list[bytes | str] = [b'{"text":"a"},{"text":"b"}', b'{"text":"c"}', b'{"text":"d"}']
    with pytest.raises(ValidationError):
        validate_json_values(Note, raws)


def test_validate_rejects_broken_document() -> None:
    with pytest.raises(ValidationError):
        validate_json_values(Note, [b'{"text":"a"}', b'{"text":'])


def test_text_values_keep_order() -> None:
    raws: list[bytes | str] = ['{"text":"é"}', '{"text":"漢"}', '{"text":"\\ud83d\\ude00"}']
    assert [note.text for note in validate_json_values(Note, raws)] == ["é", "漢", "😀"]


def test_text_rejects_two_value_document() -> None:
    raws: list[bytes | str] = ['{"text":"a"},{"text":"b"}', '{"text":"c"}', '{"text":"d"}']
    with pytest.raises(ValidationError):
        validate_json_values(Note, raws)
