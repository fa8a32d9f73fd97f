"""TOTP parameters, recovery-code shape and challenge defaults of the MFA feature."""

# RFC 6238 with the parameters every authenticator app supports: HMAC-SHA1, six
# digits, 30-second steps.
TOTP_DIGITS = 6
TOTP_PERIOD_SECONDS = 30
# Codes from one step before and after the current one are accepted (clock drift).
TOTP_DRIFT_STEPS = 1
# RFC 4226 recommends 160-bit secrets, the HMAC-SHA1 output size.
TOTP_SECRET_BYTES = 20
TOTP_ALGORITHM = "SHA1"

RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_GROUPS = 4
RECOVERY_CODE_GROUP_LENGTH = 4
# No i, l, o, 0 or 1, so a code read aloud or written down cannot be mistyped.
RECOVERY_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"

DEFAULT_CHALLENGE_TTL_SECONDS = 300
DEFAULT_MAX_CODE_ATTEMPTS = 5
CHALLENGE_TOKEN_BYTES = 32
CHALLENGE_STORAGE_PREFIX = "mfa_challenge:"

# The four user columns of the MFA contract.
MFA_FIELDS: tuple[str, ...] = (
    "totp_secret_encrypted",
    "totp_confirmed_at",
    "totp_last_step",
    "mfa_recovery_codes",
)

# Client-facing messages.
INVALID_CODE = "Invalid code"
ALREADY_ENABLED = "Two-factor authentication is already enabled."
NOT_ENABLED = "Two-factor authentication isn't enabled."
NO_PENDING_SETUP = "No authenticator setup is pending."
MFA_REQUIRED_FOR_ACCOUNT = "Two-factor authentication is required for this account."
MFA_DISABLED = "Two-factor authentication disabled."
INCORRECT_PASSWORD = "Incorrect password"
INVALID_CHALLENGE = "Invalid or expired MFA challenge"
