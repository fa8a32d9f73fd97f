"""Request helpers: client address, cross-site detection and redirect filtering."""

from __future__ import annotations

import ipaddress
import unicodedata
from urllib.parse import unquote, urlsplit

from starlette.requests import HTTPConnection

from crudauth.constants import IPV6_CLIENT_PREFIX_LENGTH

__all__ = ["client_ip_key", "get_client_ip", "is_cross_site", "safe_redirect_path"]

# Percent-decoding rounds applied when checking a redirect target; one more round than
# any browser or framework decodes before following a Location header.
_REDIRECT_DECODE_ROUNDS = 3


def get_client_ip(request: HTTPConnection, trusted_hops: int = 0) -> str:
    """Return the client address, reading ``X-Forwarded-For`` behind trusted proxies.

    With ``trusted_hops <= 0`` forwarding headers are ignored and the socket peer is
    returned. With ``N > 0`` every ``X-Forwarded-For`` line is joined in order and the
    entry ``N``-th from the right is returned, or the left-most one when the chain is
    shorter. Without the header the socket peer is returned.

    Args:
        request: The request or WebSocket connection.
        trusted_hops: Number of reverse proxies in front of the app that append to
            ``X-Forwarded-For``; ``0`` (the default) trusts no forwarding header.

    Returns:
        The client address as text, or ``"unknown"`` when there is no socket peer and
        no usable header.
    """
    peer = request.client.host if request.client and request.client.host else "unknown"
    if trusted_hops <= 0:
        return peer

    entries = [
        entry.strip()
        for line in request.headers.getlist("x-forwarded-for")
        for entry in line.split(",")
        if entry.strip()
    ]
    if not entries:
        return peer
    # Each trusted proxy appends the address it saw, so entries a client prepends sit
    # further left and are never read: counting from the right stops IP spoofing.
    return entries[-min(trusted_hops, len(entries))]


def client_ip_key(ip: str) -> str:
    """Return the rate-limit and lockout key of an address.

    IPv4 stays as is and an IPv4-mapped IPv6 address becomes its IPv4 form. Any other
    IPv6 address becomes its /64 network in CIDR text, because one client usually owns
    a whole /64 and could otherwise rotate addresses to escape per-IP limits.

    Args:
        ip: The client address, as returned by ``get_client_ip``.

    Returns:
        The key, or ``ip`` unchanged when it is not an IP address.

    Example:
        ```python
        client_ip_key("2001:db8::1")  # "2001:db8::/64"
        ```
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    network = ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX_LENGTH), strict=False)
    return str(network)


def is_cross_site(request: HTTPConnection) -> bool:
    """Return whether the browser marked the request ``Sec-Fetch-Site: cross-site``.

    Args:
        request: The request or WebSocket connection.

    Returns:
        ``True`` only for the value ``cross-site``. A missing header, ``same-site``
        and ``same-origin`` all give ``False``.
    """
    return request.headers.get("sec-fetch-site", "").strip().lower() == "cross-site"


def _is_unsafe_character(char: str) -> bool:
    # Browsers strip tabs and newlines inside URLs and treat backslashes as slashes, so
    # "/\tevil" or "/\\evil" could still become the host "evil". Invisible format
    # characters could hide such a prefix from a reviewer.
    if char == "\\" or char.isspace():
        return True
    return unicodedata.category(char) in ("Cc", "Cf")


def _is_local_path(value: str) -> bool:
    if not value.startswith("/") or value.startswith("//"):
        return False
    if any(_is_unsafe_character(char) for char in value):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


def safe_redirect_path(target: str | None, default: str = "/") -> str:
    """Return ``target`` when it is a same-origin relative path, else ``default``.

    A target must start with exactly one ``/``, contain no backslash, whitespace or
    control character, and carry no scheme or host. The same rules are applied again
    after each round of percent-decoding, so ``/%2f%2fevil.com`` and ``/%5cevil.com``
    are rejected too. This keeps a redirect parameter from sending users to another
    site (an open redirect).

    Args:
        target: The requested redirect target, usually a query parameter; ``None`` or
            a non-string falls back to ``default``.
        default: The path returned when ``target`` is rejected.

    Returns:
        ``target`` unchanged (not decoded) when it is safe, else ``default``.

    Example:
        ```python
        safe_redirect_path("/account?tab=devices")  # "/account?tab=devices"
        safe_redirect_path("//evil.example/")  # "/"
        safe_redirect_path("https://evil.example/", default="/home")  # "/home"
        ```
    """
    if not isinstance(target, str) or not target:
        return default

    candidate = target
    for _ in range(_REDIRECT_DECODE_ROUNDS):
        if not _is_local_path(candidate):
            return default
        decoded = unquote(candidate)
        if decoded == candidate:
            return target
        candidate = decoded
    # Still changing after several decoding rounds: nothing legitimate nests encodings
    # this deep, so the target is treated as hostile.
    return default
