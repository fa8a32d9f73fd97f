"""``safe_redirect_path`` only ever returns a same-origin path or the default."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from crudauth.utils.http import safe_redirect_path

BOUNDED = settings(max_examples=400, deadline=None)
PIECES = st.sampled_from(
    [
        "/",
        "//",
        "\\",
        "%2f",
        "%2F",
        "%5c",
        "%252f",
        "evil.com",
        "http:",
        "https://",
        "@",
        ":",
        "\t",
        "\n",
        "\r",
        " ",
        "\u200b",
        "\x00",
        "%00",
        "%09",
        "?",
        "#",
        "..",
        "a",
        "%",
        "%%",
    ]
)
TARGETS = st.one_of(
    st.text(max_size=30),
    st.lists(PIECES, max_size=8).map("".join),
    st.lists(PIECES, max_size=6).map(lambda parts: "/" + "".join(parts)),
)


def leaves_origin(path: str) -> bool:
    """Whether a browser could read ``path`` as pointing at another host."""
    for _ in range(4):
        cleaned = "".join(c for c in path if c not in "\t\n\r").replace("\\", "/")
        try:
            parts = urlsplit(cleaned)
        except ValueError:
            return True
        if parts.scheme or parts.netloc or cleaned.startswith("//"):
            return True
        path = unquote(path)
    return False


@BOUNDED
@given(TARGETS)
def test_result_is_the_target_or_the_default(target: str) -> None:
    result = safe_redirect_path(target, default="/home")
    assert result in (target, "/home")
    if result == target:
        assert target.startswith("/")
        assert not leaves_origin(target)


@BOUNDED
@given(st.text(max_size=20))
def test_encoded_hosts_are_refused(host: str) -> None:
    for prefix in ("//", "/\\", "/%2f", "/%5c", "/%252f%252f", "https://"):
        target = prefix + quote(host, safe="")
        if leaves_origin(target):
            assert safe_redirect_path(target) == "/"


@BOUNDED
@given(st.one_of(st.none(), st.integers(), st.binary(max_size=10)))
def test_non_text_targets_fall_back(target: object) -> None:
    assert safe_redirect_path(target) == "/"  # type: ignore[arg-type]
