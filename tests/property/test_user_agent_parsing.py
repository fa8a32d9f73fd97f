"""The User-Agent wrapper never raises and its output stays bounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crudauth.transports.session.useragent import parse_user_agent

BOUNDED = settings(max_examples=200, deadline=None)
FRAGMENTS = st.sampled_from(
    [
        "Mozilla/5.0 ",
        "(Windows NT 10.0; Win64; x64) ",
        "AppleWebKit/537.36 ",
        "Chrome/124.0 ",
        "Mobile ",
        "Tablet ",
        "Android 14; ",
        "iPad; ",
        "bot ",
        "Googlebot/2.1 ",
        "(((",
        ")))",
        "/" * 50,
        "9" * 40,
        "\x00",
        "\u202e",
        "Safari/",
        "Version/17.0 ",
        "; ; ;",
    ]
)
AGENTS = st.one_of(
    st.none(),
    st.text(max_size=300),
    st.lists(FRAGMENTS, max_size=30).map("".join),
    st.integers(1, 5).map(lambda n: "Mozilla/5.0 (" * 400 * n),
)


@BOUNDED
@given(AGENTS)
def test_parse_never_raises_and_is_bounded(agent: str | None) -> None:
    info = parse_user_agent(agent)
    for field in ("browser", "browser_version", "os", "os_version", "device"):
        value = getattr(info, field)
        assert isinstance(value, str)
        assert 0 < len(value) <= 512 or field.endswith("version")
        assert len(value) <= 512
    flags = (info.is_mobile, info.is_tablet, info.is_pc, info.is_bot)
    assert sum(flags) <= 1


def test_results_are_independent_copies() -> None:
    first = parse_user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0")
    first.browser = "changed"
    assert parse_user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0").browser != "changed"
