"""Route templates of the OAuth sign-in and the URLs built from them."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from crudauth.utils.http import safe_redirect_path

__all__ = [
    "DEFAULT_OAUTH_PATHS",
    "callback_url",
    "is_redirect_target",
    "join_path",
    "resolve_oauth_paths",
]

DEFAULT_OAUTH_PATHS: Mapping[str, str] = {
    "prefix": "/oauth",
    "authorize_path": "/{provider}/authorize",
    "callback_path": "/{provider}/callback",
}
_PROVIDER_PLACEHOLDER = "{provider}"


def resolve_oauth_paths(overrides: Mapping[str, str] | None) -> dict[str, str]:
    """Return the default paths with ``overrides`` applied.

    The prefix is normalized to one leading slash and no trailing one (``""`` when
    empty).

    Args:
        overrides: The ``oauth_paths=`` setting, with keys ``prefix``,
            ``authorize_path`` and ``callback_path``.

    Raises:
        ValueError: An unknown key, a value that is not a string, or a route path
            without the ``{provider}`` segment.
    """
    paths = dict(DEFAULT_OAUTH_PATHS)
    for key, value in (overrides or {}).items():
        if key not in DEFAULT_OAUTH_PATHS:
            valid = ", ".join(DEFAULT_OAUTH_PATHS)
            raise ValueError(f"oauth_paths has an unknown key {key!r}; valid keys are {valid}")
        if not isinstance(value, str):
            raise ValueError(f"oauth_paths[{key!r}] must be a string, got {value!r}")
        paths[key] = value
    for key in ("authorize_path", "callback_path"):
        if _PROVIDER_PLACEHOLDER not in paths[key]:
            raise ValueError(
                f"oauth_paths[{key!r}] must contain the literal {_PROVIDER_PLACEHOLDER}, "
                f"got {paths[key]!r}"
            )
    prefix = paths["prefix"].strip("/")
    paths["prefix"] = f"/{prefix}" if prefix else ""
    return paths


def join_path(*segments: str) -> str:
    """Join URL path segments with single slashes, always starting with one.

    Args:
        *segments: Path segments; empty ones are skipped.
    """
    parts = [segment.strip("/") for segment in segments if segment.strip("/")]
    return "/" + "/".join(parts)


def callback_url(base_url: str, paths: Mapping[str, str], provider: str) -> str:
    """Return the absolute redirect URI registered with ``provider``.

    Trailing slashes of ``base_url`` are dropped and the prefix and callback path are
    joined with single slashes, e.g. ``https://app.example.com/oauth/google/callback``.

    Args:
        base_url: The app's public origin (``redirect_base_url``).
        paths: The resolved OAuth paths.
        provider: The provider name.
    """
    path = join_path(paths["prefix"], paths["callback_path"]).replace(
        _PROVIDER_PLACEHOLDER, provider
    )
    return base_url.rstrip("/") + path


def is_redirect_target(value: str) -> bool:
    """Return whether ``value`` is a same-origin path or an absolute http(s) URL.

    An absolute URL with whitespace, a control character or a backslash is rejected.

    Args:
        value: The configured redirect target.
    """
    if not isinstance(value, str) or not value:
        return False
    if safe_redirect_path(value, default="") == value:
        return True
    parts = urlsplit(value)
    unsafe = any(char.isspace() or ord(char) < 0x20 or char == "\\" for char in value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not unsafe
