"""The default user-model mixin."""

from crudauth.models.mixin import AuthUserMixin as AuthUserMixin

__all__ = ["AuthUserMixin"]
