"""Names, claim keys and client-facing messages of the bearer transport."""

TRANSPORT_NAME = "bearer"

# The ``token_type`` value of a token response (RFC 6749 section 7.1).
TOKEN_TYPE_BEARER = "bearer"

REFRESH_LOCATION_COOKIE = "cookie"
REFRESH_LOCATION_BODY = "body"
REFRESH_LOCATIONS = (REFRESH_LOCATION_COOKIE, REFRESH_LOCATION_BODY)

# Default refresh cookie name, and the JSON field of the refresh token in body delivery.
REFRESH_TOKEN_NAME = "refresh_token"

SUBJECT_CLAIM = "sub"
EXPIRY_CLAIM = "exp"
TOKEN_TYPE_CLAIM = "token_type"
SCOPES_CLAIM = "scopes"
PURPOSE_CLAIM = "purpose"
# The user's token_version at issuance; a bump of the column revokes every older token.
TOKEN_VERSION_CLAIM = "ver"
# The raw id of the token family (device) a token belongs to.
FAMILY_CLAIM = "fam"
# The rotation id of a refresh token within its family.
ROTATION_CLAIM = "rot"

# How long the refresh token just rotated may still be presented by a racing refresh.
DEFAULT_REFRESH_GRACE_SECONDS = 5.0
TOKEN_FAMILY_PREFIX = "token_family:"

DEFAULT_SIGNED_TOKEN_HOURS = 24

AUTHENTICATE_SCHEME = "Bearer"

INVALID_TOKEN = "Invalid token"
REFRESH_TOKEN_MISSING = "Refresh token missing"
INVALID_REFRESH_TOKEN = "Invalid or expired refresh token"
LOGGED_OUT = "Logged out"

# Why a token family ended, as written to the security log.
FAMILY_REASON_REUSE = "refresh_token_reuse"
FAMILY_REASON_LOGOUT = "logout"
