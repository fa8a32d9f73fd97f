"""The JWT bearer transport; the token primitives live in ``.tokens``."""

from crudauth.transports.bearer.transport import BearerTransport as BearerTransport

__all__ = ["BearerTransport"]
