"""Cookie sessions with server-side state, CSRF tokens and device management."""

from crudauth.transports.session.manager import SessionManager as SessionManager
from crudauth.transports.session.schemas import CSRFToken as CSRFToken
from crudauth.transports.session.schemas import SessionData as SessionData
from crudauth.transports.session.schemas import UserAgentInfo as UserAgentInfo
from crudauth.transports.session.transport import SessionTransport as SessionTransport

__all__ = ["CSRFToken", "SessionData", "SessionManager", "SessionTransport", "UserAgentInfo"]
