"""Built-in providers; importing this package registers ``google`` and ``github``."""

from crudauth.oauth.constants import GITHUB, GOOGLE
from crudauth.oauth.factory import OAuthProviderFactory
from crudauth.oauth.providers.github import GitHubOAuthProvider
from crudauth.oauth.providers.google import GoogleOAuthProvider
from crudauth.oauth.providers.oidc import GenericOIDCProvider

__all__ = ["GenericOIDCProvider", "GitHubOAuthProvider", "GoogleOAuthProvider"]

# The generic OIDC provider is selected by OAuthCredentials(issuer=...), never by name.
OAuthProviderFactory.register_provider(GOOGLE, GoogleOAuthProvider)
OAuthProviderFactory.register_provider(GITHUB, GitHubOAuthProvider)
