"""Sign-in through external identity providers (OAuth 2.0 and OpenID Connect).

Importing this package registers the ``google`` and ``github`` providers with
``OAuthProviderFactory``.
"""

from crudauth.oauth.factory import OAuthProviderFactory
from crudauth.oauth.provider import AbstractOAuthProvider
from crudauth.oauth.providers import GenericOIDCProvider
from crudauth.oauth.schemas import OAuthCredentials, OAuthState, OAuthUserInfo
from crudauth.oauth.service import OAuthAccountService

__all__ = [
    "AbstractOAuthProvider",
    "GenericOIDCProvider",
    "OAuthAccountService",
    "OAuthCredentials",
    "OAuthProviderFactory",
    "OAuthState",
    "OAuthUserInfo",
]
