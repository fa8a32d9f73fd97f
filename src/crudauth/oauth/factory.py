"""The process-wide registry of provider classes by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from crudauth.oauth.provider import AbstractOAuthProvider

__all__ = ["OAuthProviderFactory"]


class OAuthProviderFactory:
    """Map provider names to provider classes for ``CRUDAuth(oauth=...)``.

    Importing ``crudauth.oauth`` registers ``google`` and ``github``. Register a custom
    class under the name used in ``oauth=``. That name is also the URL segment and the
    ``<name>_id`` column.

    Example:
        ```python
        OAuthProviderFactory.register_provider("gitlab", GitLabProvider)
        auth = CRUDAuth(..., oauth={"gitlab": OAuthCredentials(client_id=...)})
        ```
    """

    _providers: ClassVar[dict[str, type[AbstractOAuthProvider]]] = {}

    @classmethod
    def register_provider(cls, name: str, provider_class: type[AbstractOAuthProvider]) -> None:
        """Register ``provider_class`` under ``name``, replacing any earlier class.

        Args:
            name: The provider name used in ``oauth=``.
            provider_class: A subclass of ``AbstractOAuthProvider`` whose constructor
                takes ``(client_id, client_secret, redirect_uri, *, scopes=...)``.
        """
        cls._providers[name] = provider_class

    @classmethod
    def get_provider_class(cls, name: str) -> type[AbstractOAuthProvider] | None:
        """Return the class registered under ``name``, or ``None``.

        Args:
            name: The provider name.
        """
        return cls._providers.get(name)

    @classmethod
    def create_provider(
        cls,
        name: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        scopes: list[str] | None = None,
    ) -> AbstractOAuthProvider:
        """Instantiate the provider registered under ``name``.

        Args:
            name: The provider name.
            client_id: The client id.
            client_secret: The client secret, or ``""`` for a public client.
            redirect_uri: The callback URL registered with the provider.
            scopes: Scopes to request; ``None`` keeps the class's defaults.

        Returns:
            The provider.

        Raises:
            ValueError: No class is registered under ``name``, or the class requires
                a client secret and none is given.
        """
        provider_class = cls._providers.get(name)
        if provider_class is None:
            raise ValueError(f"Unknown OAuth provider: {name!r}")
        kwargs: dict[str, Any] = {}
        if scopes is not None:
            kwargs["scopes"] = scopes
        return provider_class(client_id, client_secret, redirect_uri, **kwargs)
