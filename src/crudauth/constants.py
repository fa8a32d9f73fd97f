"""Package-wide numbers and contract sets.

Every TTL, window and size that more than one module reads lives here. Durations are in
seconds unless the name says otherwise.
"""

SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 60 * SECONDS_PER_MINUTE
SECONDS_PER_DAY = 24 * SECONDS_PER_HOUR

DEFAULT_SESSION_TIMEOUT_MINUTES = 30
DEFAULT_SESSION_TTL_SECONDS = DEFAULT_SESSION_TIMEOUT_MINUTES * SECONDS_PER_MINUTE
USER_INDEX_TTL_BUFFER_SECONDS = SECONDS_PER_HOUR
DEFAULT_MAX_SESSIONS_PER_USER = 5
DEFAULT_REMEMBER_ME_DAYS = 30
DEFAULT_CLEANUP_INTERVAL_MINUTES = 15
# Sessions record activity at most this often, so a read-mostly session costs one read.
DEFAULT_ACTIVITY_INTERVAL_SECONDS = 60
CSRF_TOKEN_BYTES = 32

DEFAULT_ALGORITHM = "HS256"
DEFAULT_ACCESS_TTL_SECONDS = 15 * SECONDS_PER_MINUTE
DEFAULT_REFRESH_TTL_DAYS = 30

DEFAULT_LOGIN_MAX_ATTEMPTS = 5
DEFAULT_LOGIN_ATTEMPT_WINDOW_SECONDS = SECONDS_PER_MINUTE
DEFAULT_LOGIN_LOCKOUT_BASE_SECONDS = SECONDS_PER_MINUTE
DEFAULT_LOGIN_LOCKOUT_MAX_SECONDS = SECONDS_PER_HOUR
DEFAULT_LOGIN_ROUND_RETENTION_SECONDS = SECONDS_PER_HOUR
IPV6_CLIENT_PREFIX_LENGTH = 64

DEFAULT_FRESH_SIGN_IN_SECONDS = 600
FRESH_SIGN_IN_REQUIRED = "Sign in again to continue: this needs a recent sign-in."

OAUTH_STATE_TTL_SECONDS = 30 * SECONDS_PER_MINUTE
USED_TOKEN_TTL_SECONDS = SECONDS_PER_DAY
DEFAULT_VERIFY_TTL_HOURS = 24
DEFAULT_RESET_TTL_HOURS = 1
DEFAULT_CHANGE_TTL_HOURS = 24

# The user-column contract, in the order the default mixin (with MFA) emits it.
LOGICAL_FIELDS: tuple[str, ...] = (
    "id",
    "email",
    "username",
    "hashed_password",
    "is_active",
    "is_superuser",
    "email_verified",
    "token_version",
    "oauth_provider",
    "google_id",
    "github_id",
    "oauth_created_at",
    "oauth_updated_at",
    "totp_secret_encrypted",
    "totp_confirmed_at",
    "totp_last_step",
    "mfa_recovery_codes",
)
HOOK_HIDDEN_FIELDS: frozenset[str] = frozenset({"totp_secret_encrypted", "mfa_recovery_codes"})
REGISTRATION_ALLOWED_FIELDS: frozenset[str] = frozenset({"email", "username"})
"""Contract fields that a ``/register`` body may set.

App columns join them through ``CRUDAuth(register_extra_fields=...)``.
"""
REGISTRATION_GATED_FIELDS: frozenset[str] = frozenset(LOGICAL_FIELDS) - REGISTRATION_ALLOWED_FIELDS
"""Contract fields that a ``/register`` body can never set.

They are every user-column contract field except email and username, such as
``is_superuser``, ``email_verified`` and ``hashed_password``. They stay out even when
listed in ``register_extra_fields``, so no client can register itself as an
administrator or as verified.
"""

# Leftover throttle numbers kept for import compatibility; DEFAULT_RATE_LIMITS governs.
EMAIL_REQUEST_WINDOW_SECONDS = SECONDS_PER_HOUR
EMAIL_REQUEST_MAX_PER_EMAIL = 3
EMAIL_REQUEST_MAX_PER_IP = 5

MIN_PASSWORD_LENGTH = 8
# Passwords longer than this are rejected before hashing, so a huge body costs nothing.
MAX_PASSWORD_LENGTH = 4096
# User-Agent strings are cut to this many characters before they are parsed or stored.
USER_AGENT_MAX_LENGTH = 512

STORE_UNAVAILABLE = "Authentication service unavailable."
