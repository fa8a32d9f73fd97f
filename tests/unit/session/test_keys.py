"""Storage keys and constant-time compares of values that contain lone surrogates."""

from __future__ import annotations

from crudauth.transports.session.keys import SessionKeys, same_text

SECRET = "unit-test-secret"
OLD_SECRET = "retired-unit-test-secret"
# Lone surrogates, legal in a JSON string, that strict UTF-8 cannot encode.
SURROGATE_VALUES = ["\ud800", "\udfff", "\udcff", "a\ud83d"]


def test_session_keys_derive_surrogate_values() -> None:
    keys = SessionKeys(SECRET, [OLD_SECRET])
    for value in SURROGATE_VALUES:
        assert len(keys.session_key(value)) == 64, value
        assert len(keys.csrf_key(value)) == 64, value
        assert len(keys.previous_session_keys(value)) == 1, value
        assert keys.csrf_key_matches(value, keys.csrf_key(value)) is True, value
        assert keys.csrf_key_matches(value, keys.csrf_key("other")) is False, value


def test_session_keys_separate_surrogate_values() -> None:
    keys = SessionKeys(SECRET)
    derived = {keys.session_key(value) for value in SURROGATE_VALUES}
    assert len(derived) == len(SURROGATE_VALUES)


def test_same_text_compares_surrogates() -> None:
    for value in SURROGATE_VALUES:
        assert same_text(value, value) is True, value
        assert same_text(value, "x") is False, value
    assert same_text("\ud800", "\ud801") is False
    assert same_text("\udc80", "\x80") is False
