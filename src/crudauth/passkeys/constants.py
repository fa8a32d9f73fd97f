"""Storage prefixes, limits and client-facing messages of the passkeys feature."""

# Store prefixes: saved passkeys and their credential-id index live under the first,
# pending ceremonies under the second.
PASSKEY_STORAGE_PREFIX = "passkey:"
CHALLENGE_STORAGE_PREFIX = "passkey_challenge:"
# Passkeys live in a TTL store, so they get a TTL far beyond any account's life (about
# 30 years). Every sign-in with a passkey renews it.
PASSKEY_RECORD_TTL_SECONDS = 30 * 365 * 24 * 3600

DEFAULT_CHALLENGE_TTL_SECONDS = 300
DEFAULT_MAX_PASSKEYS_PER_USER = 20
DEFAULT_CEREMONY_TIMEOUT_MS = 120_000
CHALLENGE_BYTES = 32
USER_HANDLE_BYTES = 32
PASSKEY_ID_BYTES = 12
BINDING_BYTES = 32
BINDING_COOKIE_NAME = "crudauth_passkey"

# Input bounds. WebAuthn caps credential ids at 1023 bytes (1364 base64url characters);
# the JSON of a whole credential stays far below the body cap.
MAX_CREDENTIAL_ID_LENGTH = 1364
MAX_CREDENTIAL_JSON_BYTES = 64 * 1024
MAX_PASSKEY_NAME_LENGTH = 64
MAX_PASSKEY_ID_LENGTH = 64

# Metadata stored on a session that a passkey opened.
LOGIN_TYPE = "passkey"

# Ceremony purposes a challenge is issued for.
PURPOSE_REGISTER = "register"
PURPOSE_LOGIN = "login"
PURPOSE_MFA = "mfa"

# Security-log event types.
EVENT_PASSKEY_ADDED = "passkey_added"
EVENT_PASSKEY_REMOVED = "passkey_removed"
EVENT_SIGN_COUNT_REJECTED = "passkey_sign_count_rejected"

# Client-facing messages.
MALFORMED_CREDENTIAL = (
    "Malformed passkey credential: send the JSON of the browser's PublicKeyCredential"
)
INVALID_CHALLENGE = "Invalid or expired passkey challenge; request new options and try again"
FOREIGN_CHALLENGE = "This passkey challenge was issued to another browser; request new options"
VERIFICATION_FAILED = "Passkey verification failed"
UNKNOWN_PASSKEY = "Passkey not recognised; sign in another way or register this passkey"
SIGN_COUNT_WENT_BACKWARDS = (
    "Passkey rejected: its signature counter went backwards, so the passkey may have "
    "been cloned. Sign in another way and remove it."
)
ALREADY_REGISTERED = "This passkey is already registered"
TOO_MANY_PASSKEYS = "Passkey limit reached; remove a passkey before adding another"
PASSKEY_NOT_FOUND = "Passkey not found"
PASSKEY_REMOVED = "Passkey removed"
NO_PASSKEYS = "No passkey is registered for this account"
SESSION_TRANSPORT_REQUIRED = "Passkey sign-in needs a session transport"
