"""The ``POST /register`` feature."""

from crudauth.register.route import RegisterIn as RegisterIn
from crudauth.register.route import build_register_route as build_register_route

__all__ = ["RegisterIn", "build_register_route"]
