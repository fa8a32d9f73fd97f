"""Client address, cross-site detection and redirect filtering."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from crudauth.utils.http import client_ip_key, get_client_ip, is_cross_site, safe_redirect_path


def make_request(
    peer: str | None = "10.0.0.1", headers: list[tuple[str, str]] | None = None
) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers or []],
        "client": (peer, 1234) if peer is not None else None,
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("peer", "forwarded", "hops", "expected"),
    [
        ("10.0.0.1", "1.2.3.4", 0, "10.0.0.1"),
        ("203.0.113.9", None, 0, "203.0.113.9"),
        ("10.0.0.1", "1.2.3.4", 1, "1.2.3.4"),
        ("10.0.0.1", "9.9.9.9, 1.2.3.4", 1, "1.2.3.4"),
        ("10.0.0.1", "1.2.3.4, 172.16.0.1", 2, "1.2.3.4"),
        ("10.0.0.1", "1.2.3.4", 5, "1.2.3.4"),
        ("10.0.0.1", " , ,", 1, "10.0.0.1"),
        ("10.0.0.1", None, 1, "10.0.0.1"),
        ("10.0.0.1", "1.2.3.4", -1, "10.0.0.1"),
    ],
)
def test_get_client_ip_table(peer: str, forwarded: str | None, hops: int, expected: str) -> None:
    headers = [("X-Forwarded-For", forwarded)] if forwarded is not None else []
    assert get_client_ip(make_request(peer, headers), hops) == expected


def test_get_client_ip_joins_header_lines() -> None:
    headers = [("X-Forwarded-For", "6.6.6.6, 1.1.1.1"), ("X-Forwarded-For", "2.2.2.2")]
    request = make_request("10.0.0.1", headers)
    assert get_client_ip(request, 1) == "2.2.2.2"
    assert get_client_ip(request, 2) == "1.1.1.1"


def test_get_client_ip_without_peer() -> None:
    assert get_client_ip(make_request(None)) == "unknown"
    assert get_client_ip(make_request(None), 1) == "unknown"


def test_client_ip_key() -> None:
    assert client_ip_key("1.2.3.4") == "1.2.3.4"
    assert client_ip_key("::ffff:1.2.3.4") == "1.2.3.4"
    assert client_ip_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert client_ip_key("2001:db8:1:2::9") == client_ip_key("2001:db8:1:2:ffff::1")
    assert client_ip_key("unknown") == "unknown"
    assert client_ip_key("testclient") == "testclient"


def test_is_cross_site() -> None:
    assert is_cross_site(make_request(headers=[("Sec-Fetch-Site", "cross-site")])) is True
    assert is_cross_site(make_request(headers=[("Sec-Fetch-Site", "same-site")])) is False
    assert is_cross_site(make_request()) is False


@pytest.mark.parametrize("target", ["/dashboard", "/a/b?c=d", "/", "/a%2Fb", "/p#frag", "/é"])
def test_safe_redirect_accepts_local_paths(target: str) -> None:
    assert safe_redirect_path(target) == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.com",
        "//evil.com",
        "/\\evil.com",
        "/\\/evil.com",
        "\\/evil.com",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "HTTPS://evil.com",
        "/\tevil",
        "/\nevil",
        "/ /evil.com",
        " /evil",
        "/%2f%2fevil.com",
        "/%2F/evil.com",
        "%2f%2fevil.com",
        "/%5cevil.com",
        "/%255cevil.com",
        "/%0d%0aSet-Cookie:x",
        "/\u200b/evil.com",
        "/%25252f%25252fevil.com",
        "",
        None,
        "dashboard",
    ],
)
def test_safe_redirect_rejects(target: str | None) -> None:
    assert safe_redirect_path(target) == "/"
    assert safe_redirect_path(target, default="") == ""


@pytest.mark.parametrize(
    "target",
    [
        "///evil.com",
        "////evil.com",
        "/\x00evil",
        "/\x7fevil",
        "/%00evil",
        "/%09/evil.com",
        "/%0a/evil.com",
        "java%0ascript:alert(1)",
        "/%e2%80%8b/evil.com",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "hTtP://evil.com",
        "https:evil.com",
        "https:/evil.com",
        "/\\\\evil.com",
        "/%5C%5Cevil.com",
        "/\u2028evil",
        "/\ufeff/evil.com",
    ],
)
def test_safe_redirect_rejects_more_spellings(target: str) -> None:
    assert safe_redirect_path(target, default="/home") == "/home"
