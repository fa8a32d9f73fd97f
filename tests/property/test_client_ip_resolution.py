"""Forwarded-header parsing never lets a client choose its own address."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from crudauth.utils.http import client_ip_key, get_client_ip

BOUNDED = settings(max_examples=300, deadline=None)
PEER = "10.0.0.9"
ENTRY = st.one_of(
    st.ip_addresses().map(str),
    st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=","),
        max_size=12,
    ),
)


def request_with(lines: list[str], peer: str | None = PEER) -> Request:
    headers = [(b"x-forwarded-for", line.encode("latin-1")) for line in lines]
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": headers,
        "client": (peer, 1234) if peer is not None else None,
    }
    return Request(scope)


@BOUNDED
@given(st.lists(ENTRY, max_size=6), st.lists(ENTRY, min_size=1, max_size=3), st.integers(0, 4))
def test_client_prepended_entries_are_never_chosen(
    spoofed: list[str], appended: list[str], hops: int
) -> None:
    # The client sends ``spoofed``; ``appended`` are what the trusted proxies added.
    appended = [entry for entry in appended if entry.strip()] or ["192.0.2.1"]
    lines = [", ".join(spoofed)] if spoofed else []
    lines.append(", ".join(appended))
    result = get_client_ip(request_with(lines), trusted_hops=hops)
    if hops == 0:
        assert result == PEER
    elif hops <= len(appended):
        assert result == appended[-hops].strip()


@BOUNDED
@given(
    st.lists(
        st.text(max_size=20).map(lambda s: s.encode("latin-1", "replace").decode("latin-1")),
        max_size=4,
    ),
    st.integers(-2, 6),
)
def test_any_header_value_resolves_without_error(lines: list[str], hops: int) -> None:
    result = get_client_ip(request_with(lines), trusted_hops=hops)
    assert isinstance(result, str) and result
    assert get_client_ip(request_with(lines, peer=None), trusted_hops=0) == "unknown"


@BOUNDED
@given(st.ip_addresses(v=6))
def test_ipv6_keys_share_a_slash_64(address: ipaddress.IPv6Address) -> None:
    key = client_ip_key(str(address))
    if address.ipv4_mapped is not None:
        assert key == str(address.ipv4_mapped)
        return
    network = ipaddress.ip_network(key)
    assert network.prefixlen == 64
    assert address in network
    neighbour = ipaddress.IPv6Address(int(address) ^ 0xFFFF)
    assert client_ip_key(str(neighbour)) == key


@BOUNDED
@given(st.text(max_size=40))
def test_non_addresses_pass_through(value: str) -> None:
    assert isinstance(client_ip_key(value), str)
