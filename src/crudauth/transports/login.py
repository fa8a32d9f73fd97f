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

    Raises 403 for a browser-marked cross-site request when the transport sets cookies,
    429 while the login lockout holds and 401 for bad credentials. When MFA applies to
    the account, returns the challenge body instead and issues no credential.
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
