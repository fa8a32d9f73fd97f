"""Writing and expiring the session and CSRF cookies."""

from __future__ import annotations

from typing import Literal

from starlette.responses import Response

__all__ = ["SessionCookies"]


class SessionCookies:
    """Cookie helpers of ``SessionManager``, driven by the manager's cookie settings."""

    cookie_secure: bool
    cookie_samesite: Literal["lax", "strict", "none"]
    cookie_path: str
    session_cookie_name: str
    csrf_cookie_name: str

    def set_session_cookies(
        self,
        response: Response,
        session_id: str,
        csrf_token: str,
        max_age: int | None = None,
    ) -> None:
        """Write the HttpOnly session cookie, then the CSRF cookie.

        Args:
            response: The response that gets the cookies.
            session_id: The raw session id.
            csrf_token: The raw CSRF token. An empty token writes no CSRF cookie.
            max_age: Cookie lifetime in seconds. ``None`` makes browser-session
                cookies: the server-side idle check is the real expiry, and a fixed
                cookie lifetime would cut off an active session.
        """
        # HttpOnly keeps the bearer secret out of reach of injected scripts.
        response.set_cookie(
            self.session_cookie_name,
            session_id,
            max_age=max_age,
            path=self.cookie_path,
            secure=self.cookie_secure,
            httponly=True,
            samesite=self.cookie_samesite,
        )
        self.set_csrf_cookie(response, csrf_token, max_age)

    def set_csrf_cookie(
        self, response: Response, csrf_token: str, max_age: int | None = None
    ) -> None:
        """Write the CSRF cookie, which page scripts can read.

        Args:
            response: The response that gets the cookie.
            csrf_token: The raw CSRF token. An empty token writes nothing.
            max_age: Cookie lifetime in seconds, or ``None`` for a browser-session
                cookie.
        """
        if not csrf_token:
            return
        # Not HttpOnly: the page's script must read it to echo it in the CSRF header.
        response.set_cookie(
            self.csrf_cookie_name,
            csrf_token,
            max_age=max_age,
            path=self.cookie_path,
            secure=self.cookie_secure,
            httponly=False,
            samesite=self.cookie_samesite,
        )

    def clear_session_cookies(self, response: Response) -> None:
        """Expire both cookies with the attributes they were set with.

        Some browsers ignore a deletion whose path, Secure or SameSite flag differs.

        Args:
            response: The response whose cookies are expired.
        """
        response.delete_cookie(
            self.session_cookie_name,
            path=self.cookie_path,
            secure=self.cookie_secure,
            httponly=True,
            samesite=self.cookie_samesite,
        )
        response.delete_cookie(
            self.csrf_cookie_name,
            path=self.cookie_path,
            secure=self.cookie_secure,
            httponly=False,
            samesite=self.cookie_samesite,
        )
