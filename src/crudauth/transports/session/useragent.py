"""Turn a User-Agent header into device fields with ua-parser, never raising."""

from __future__ import annotations

import functools
import logging

from ua_parser import parse

from crudauth.transports.session.constants import (
    MAX_USER_AGENT_LENGTH,
    UNKNOWN_DEVICE_FIELD,
    USER_AGENT_PARSE_CACHE_SIZE,
)
from crudauth.transports.session.schemas import UserAgentInfo

__all__ = ["parse_user_agent"]

logger = logging.getLogger("crudauth.session")

# ua-parser reports "Other" for a part it could not match.
_UNMATCHED_FAMILIES = frozenset({"", "Other"})
_OS_DISPLAY_NAMES = {"Mac OS X": "macOS"}
_MOBILE_OS_FAMILIES = frozenset(
    {
        "iOS",
        "Android",
        "Windows Phone",
        "BlackBerry OS",
        "KaiOS",
        "Firefox OS",
        "Symbian OS",
        "Tizen",
        "HarmonyOS",
    }
)
_DESKTOP_OS_FAMILIES = frozenset(
    {
        "Windows",
        "Mac OS X",
        "Linux",
        "Ubuntu",
        "Debian",
        "Fedora",
        "Chrome OS",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
        "Solaris",
    }
)
_TABLET_DEVICE_FAMILIES = frozenset({"iPad", "Kindle", "Kindle Fire"})
# ua-parser files every crawler under the device family "Spider".
_BOT_DEVICE_FAMILY = "Spider"


def parse_user_agent(ua_string: str | None) -> UserAgentInfo:
    """Parse a User-Agent header into ``UserAgentInfo``.

    The header is cut to ``USER_AGENT_MAX_LENGTH`` characters first and parses are
    cached, so a hostile header costs at most one bounded parse. The flags come from a
    heuristic over ua-parser's families and the raw header.

    Args:
        ua_string: The User-Agent header, or ``None``.

    Returns:
        A fresh copy of the device fields. A missing header or a parser error gives
        the "Unknown" defaults.

    Example:
        ```python
        info = parse_user_agent(request.headers.get("user-agent"))
        label = f"{info.browser} on {info.os}"
        ```
    """
    if not ua_string:
        return UserAgentInfo()
    return _parse_truncated(ua_string[:MAX_USER_AGENT_LENGTH]).model_copy()


@functools.lru_cache(maxsize=USER_AGENT_PARSE_CACHE_SIZE)
def _parse_truncated(ua_string: str) -> UserAgentInfo:
    try:
        result = parse(ua_string)
    except Exception:  # a parser bug must never fail a login
        logger.debug("User-Agent parse failed; using Unknown device fields", exc_info=True)
        return UserAgentInfo()

    browser_family = _family(result.user_agent)
    os_family = _family(result.os)
    device_family = _family(result.device)
    device_brand = getattr(result.device, "brand", None) or ""

    # Flag heuristic, checked in this order. A "Spider" device is a bot. An iPad or
    # Kindle, a "Tablet" brand or token, or Android without the "Mobile" token is a
    # tablet. A phone operating system or a "Mobile" token is mobile. Any other
    # desktop operating system is a PC.
    is_bot = device_family == _BOT_DEVICE_FAMILY
    is_tablet = not is_bot and (
        device_family in _TABLET_DEVICE_FAMILIES
        or "tablet" in device_brand.lower()
        or "Tablet" in ua_string
        or (os_family == "Android" and "Mobile" not in ua_string)
    )
    is_mobile = (
        not is_bot and not is_tablet and (os_family in _MOBILE_OS_FAMILIES or "Mobile" in ua_string)
    )
    is_pc = not (is_bot or is_tablet or is_mobile) and os_family in _DESKTOP_OS_FAMILIES

    return UserAgentInfo(
        browser=browser_family or UNKNOWN_DEVICE_FIELD,
        browser_version=_version(result.user_agent),
        os=_OS_DISPLAY_NAMES.get(os_family, os_family) or UNKNOWN_DEVICE_FIELD,
        os_version=_version(result.os),
        device=device_family or UNKNOWN_DEVICE_FIELD,
        is_mobile=is_mobile,
        is_tablet=is_tablet,
        is_pc=is_pc,
        is_bot=is_bot,
    )


def _family(part: object) -> str:
    family = getattr(part, "family", None)
    if not isinstance(family, str) or family in _UNMATCHED_FAMILIES:
        return ""
    return family


def _version(part: object) -> str:
    """Join the numeric parts ua-parser found, e.g. ``"124.0.0"``; ``""`` when none."""
    pieces = []
    for name in ("major", "minor", "patch"):
        value = getattr(part, name, None)
        if not value:
            break
        pieces.append(str(value))
    return ".".join(pieces)
