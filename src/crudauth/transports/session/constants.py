"""Names, metadata keys and messages of the cookie-session transport."""

from crudauth.constants import USER_AGENT_MAX_LENGTH

# Methods that never change state, so the CSRF header is not demanded for them.
SAFE_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

SESSION_COOKIE_NAME = "session_id"
CSRF_COOKIE_NAME = "csrf_token"
CSRF_HEADER_NAME = "X-CSRF-Token"

SESSION_STORAGE_PREFIX = "session:"
CSRF_STORAGE_PREFIX = "csrf:"

# HMAC message prefixes: a session id and a CSRF token never share a storage key.
SESSION_KEY_CONTEXT = b"session:"
CSRF_KEY_CONTEXT = b"csrf:"

REMEMBER_ME_META_KEY = "remember_me"
CSRF_TOKEN_ID_META_KEY = "csrf_token_id"
SUDO_ELEVATED_UNTIL_META_KEY = "sudo_elevated_until"
LOGIN_TYPE_META_KEY = "login_type"
OAUTH_PROVIDER_META_KEY = "oauth_provider"

TRANSPORT_NAME = "session"

# Reasons a session ends; they are logged, never returned to clients.
REASON_MANUAL = "manual_termination"
REASON_LOGOUT = "logout"
REASON_LOGOUT_ALL = "logout_all"
REASON_TIMEOUT = "session_timeout"
REASON_ABSOLUTE_TIMEOUT = "session_absolute_timeout"
REASON_REPLACED = "replaced_by_login"
REASON_LIMIT = "session_limit"
REASON_USER_REVOKED = "user_revoked"
REASON_USER_REVOKED_ALL = "user_revoked_all"

UNKNOWN_DEVICE_FIELD = "Unknown"
USER_AGENT_PARSE_CACHE_SIZE = 1024
# Re-exported so session code reads one constants module.
MAX_USER_AGENT_LENGTH = USER_AGENT_MAX_LENGTH

MISSING_CSRF_TOKEN = "Missing CSRF token"
INVALID_CSRF_TOKEN = "Invalid CSRF token"
CSRF_DISABLED = "CSRF is disabled."
NOT_AUTHENTICATED = "Not authenticated"
SESSION_NOT_FOUND = "Session not found."
SESSION_REVOKED = "Session revoked."
SIGNED_OUT_EVERYWHERE = "Signed out of all sessions."
LOGGED_OUT = "Logged out"
SAMESITE_NONE_REJECTED = (
    "SessionTransport cannot use SameSite=None cookies: the header-only CSRF check relies "
    "on SameSite=Lax or Strict as a second layer. Set CookieConfig(samesite='lax')."
)
