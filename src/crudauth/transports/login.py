"""The form-login step shared by the session and the bearer transport."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from crudauth.exceptions import ForbiddenException
from crudauth.utils.http import is_cross_site

if TYPE_CHECKING:
    from fastapi.security import OAuth2PasswordRequestForm
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.core import Transport

__all__ = ["password_login"]

CROSS_SITE_LOGIN = "Cross-site login requests are not allowed."


async def password_login(
    transport: Transport,
    request: Request,
    response: Response,
    db: AsyncSession,
    form_data: OAuth2PasswordRequestForm,
    options: dict[str, Any],
) -> dict[str, Any]:
    """Check a password login and let ``transport`` issue its credential.

    Args:
        transport: The bound transport that issues the credential.
        request: The login request.
        response: The response that gets any cookies.
        db: Database session for the user lookup.
        form_data: The OAuth2 password form: username and password.
        options: Transport options passed on to ``transport.complete_login``, e.g.
            ``{"remember_me": True}`` or ``{"scopes": [...]}``. The MFA challenge
            keeps them for the login's second step.

    Returns:
        The body of ``transport.complete_login``, or the MFA challenge body when a
        second factor applies to the account, in which case no credential is issued.

    Raises:
        ForbiddenException: The transport sets cookies and the browser marked the
            request as cross-site (403).
        RateLimitException: The login lockout holds (429).
        UnauthorizedException: The user is unknown or disabled, or the password is
            wrong, all with one identical message (401).
        StoreUnavailableError: The lockout store or the MFA challenge store is
            unreachable.
    """
    # Blocks login CSRF: another site signing the visitor into the attacker's account.
    if transport.sets_cookies and is_cross_site(request):
        raise ForbiddenException(CROSS_SITE_LOGIN)

    runtime = transport.runtime
    mfa = runtime.mfa
    # With MFA the lockout pressure is cleared only once the second factor succeeds.
    user = await runtime.authenticate_password(
        db, form_data.username, form_data.password, request=request, record_success=mfa is None
    )

    # Second-factor seam: when the account needs a second factor, the MFA service starts
    # a challenge here and the login finishes at /mfa/verify, which calls
    # transport.complete_login with these same options. ``None`` means no MFA for this
    # account; the service has then already cleared the lockout pressure.
    if mfa is not None:
        challenge: dict[str, Any] | None = await mfa.challenge_login(
            db,
            user,
            request=request,
            transport=transport.name,
            lockout_identifier=form_data.username,
            options=options,
        )
        if challenge is not None:
            return challenge

    return await transport.complete_login(request, response, user, options)
