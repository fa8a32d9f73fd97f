"""Optional sign-in through an OpenID Connect provider, configured by environment.

``OIDC_ISSUER`` (e.g. ``http://127.0.0.1:9000`` for ``examples/fake_oidc_provider.py``)
and ``OIDC_CLIENT_ID`` turn it on. ``OIDC_CLIENT_SECRET`` is optional, because a public
client relies on PKCE. ``OIDC_LABEL`` names the link. ``DEMO_PUBLIC_URL`` is the demo's
own origin, where the provider sends the browser back (default
``http://127.0.0.1:$PORT``).
"""

from __future__ import annotations

import os
from typing import Any

from crudauth import OAuthCredentials

PROVIDER_NAME = "oidc"


def oidc_settings() -> dict[str, Any]:
    """Return the ``CRUDAuth`` keyword arguments enabling the provider, or ``{}``."""
    issuer = os.environ.get("OIDC_ISSUER")
    client_id = os.environ.get("OIDC_CLIENT_ID")
    if not issuer or not client_id:
        return {}
    port = os.environ.get("PORT", "8000")
    return {
        "oauth": {
            PROVIDER_NAME: OAuthCredentials(
                client_id=client_id,
                client_secret=os.environ.get("OIDC_CLIENT_SECRET", ""),
                issuer=issuer,
            )
        },
        "redirect_base_url": os.environ.get("DEMO_PUBLIC_URL", f"http://127.0.0.1:{port}"),
        "oauth_default_redirect": "/",
    }


def sign_in_links() -> list[dict[str, str]]:
    """Return the sign-in links the home page shows, one per configured provider."""
    if not oidc_settings():
        return []
    label = os.environ.get("OIDC_LABEL", "OpenID Connect")
    url = f"/oauth/{PROVIDER_NAME}/authorize?redirect_to=/account"
    return [{"label": f"Sign in with {label}", "url": url}]
