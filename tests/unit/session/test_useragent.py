"""User-Agent parsing with ua-parser: fields, flags, caps and failure fallback."""

from __future__ import annotations

import pytest

from crudauth.transports.session import useragent
from crudauth.transports.session.useragent import parse_user_agent

CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def test_parse_desktop_chrome() -> None:
    info = parse_user_agent(CHROME_MAC)
    assert info.browser == "Chrome"
    assert info.browser_version == "124.0.0"
    assert info.os == "macOS"
    assert info.os_version == "10.15.7"
    assert info.device == "Mac"
    assert info.is_pc
    assert not info.is_mobile


def test_parse_windows_firefox() -> None:
    info = parse_user_agent(FIREFOX_WINDOWS)
    assert info.browser == "Firefox"
    assert info.os == "Windows"
    assert info.is_pc


@pytest.mark.parametrize(
    ("ua", "mobile", "tablet", "pc", "bot"),
    [
        (SAFARI_IPHONE, True, False, False, False),
        (ANDROID_PHONE, True, False, False, False),
        (SAFARI_IPAD, False, True, False, False),
        (ANDROID_TABLET, False, True, False, False),
        (GOOGLEBOT, False, False, False, True),
        ("curl/8.0", False, False, False, False),
    ],
)
def test_parse_device_flags(ua: str, mobile: bool, tablet: bool, pc: bool, bot: bool) -> None:
    info = parse_user_agent(ua)
    assert info.is_mobile is mobile
    assert info.is_tablet is tablet
    assert info.is_pc is pc
    assert info.is_bot is bot


def test_parse_iphone_fields() -> None:
    info = parse_user_agent(SAFARI_IPHONE)
    assert info.os == "iOS"
    assert info.device == "iPhone"


@pytest.mark.parametrize("ua", ["", None])
def test_parse_empty_is_unknown(ua: str | None) -> None:
    info = parse_user_agent(ua)
    assert info.browser == "Unknown"
    assert info.os == "Unknown"
    assert info.device == "Unknown"


def test_parse_huge_header_is_truncated_and_cached() -> None:
    useragent._parse_truncated.cache_clear()
    huge = CHROME_MAC + "x" * 100_000
    first = parse_user_agent(huge)
    second = parse_user_agent(CHROME_MAC + "x" * 200_000)
    assert first.browser == "Chrome"
    assert second == first
    # Both headers share their first 512 characters, so the second parse is a cache hit.
    assert useragent._parse_truncated.cache_info().hits == 1


def test_parse_result_is_a_copy() -> None:
    first = parse_user_agent(CHROME_MAC)
    first.browser = "changed"
    assert parse_user_agent(CHROME_MAC).browser == "Chrome"


def test_parser_error_yields_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_: str) -> None:
        raise ValueError("parser bug")

    useragent._parse_truncated.cache_clear()
    monkeypatch.setattr(useragent, "parse", broken)
    info = parse_user_agent("Mozilla/5.0 something")
    assert info.browser == "Unknown"
    assert info.os == "Unknown"
    useragent._parse_truncated.cache_clear()


def test_huge_version_number_does_not_raise() -> None:
    info = parse_user_agent("Chrome/" + "9" * 5000)
    assert isinstance(info.browser_version, str)
