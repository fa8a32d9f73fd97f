"""The built-in transports: cookie sessions and JWT bearer tokens."""

from crudauth.transports.bearer.transport import BearerTransport as BearerTransport
from crudauth.transports.session.transport import SessionTransport as SessionTransport

__all__ = ["BearerTransport", "SessionTransport"]
